// Errors of the dashboard's sign-in and session, in the same
// { error: { message, type, param, code } } shape as /v1 and /admin.
import { define, GatewayError } from '../errors.js'
import type { Refusal } from './session.js'

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

// The code names the refusal (sign_in_link_used, session_expired, ...).
const refused = (code: string, message: string) => new GatewayError({ status: 401, type: 'authentication_error', code, message, param: null })

export const uiErrors = {
  linkRefused: (reason: Refusal) => refused(`sign_in_link_${reason}`, LINK[reason]),
  sessionRefused: (reason: Refusal) => refused(`session_${reason}`, SESSION[reason]),
  csrf: define(403, 'permission_error', 'invalid_csrf_token', () => 'A dashboard write needs the CSRF token of its session in the x-csrf-token header.'),
  crossOrigin: define(403, 'permission_error', 'cross_origin', () => 'Sign-in and sign-out are accepted from the dashboard\'s own origin only.'),
}
