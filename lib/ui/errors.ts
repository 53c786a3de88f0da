// Errors of the dashboard's sign-in and session, in the same
// { error: { message, type, param, code } } shape as /v1 and /admin.
import { GatewayError } from '../errors.js'
import type { Refusal } from './session.js'

const make = (status: number, type: string, code: string, message: string) => new GatewayError({ status, type, code, message, param: null })

const PRINT = 'print a new link with `npm run token -- --sub NAME --role viewer|admin --ui`'
const LINK: Record<Refusal, string> = {
  used: `This sign-in link was already used: ${PRINT}.`,
  expired: `This sign-in link has expired: ${PRINT}.`,
  invalid: `This sign-in link is not valid: ${PRINT}.`,
  ended: `This sign-in link is not valid: ${PRINT}.`,
}
const SESSION: Record<Refusal, string> = {
  ended: 'The dashboard session was signed out: sign in again.',
  expired: 'The dashboard session has expired: sign in again.',
  invalid: 'The dashboard session cookie is not valid: sign in again.',
  used: 'The dashboard session cookie is not valid: sign in again.',
}

export const uiErrors = {
  linkRefused: (reason: Refusal) => make(401, 'authentication_error', `sign_in_link_${reason}`, LINK[reason]),
  sessionRefused: (reason: Refusal) => make(401, 'authentication_error', `session_${reason}`, SESSION[reason]),
  csrf: () => make(403, 'permission_error', 'invalid_csrf_token', 'A dashboard write needs the CSRF token of its session in the x-csrf-token header.'),
  crossOrigin: () => make(403, 'permission_error', 'cross_origin', 'Sign-in and sign-out are accepted from the dashboard\'s own origin only.'),
}
