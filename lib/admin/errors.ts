// Errors of the admin API, in the same { error: { message, type, param, code } } shape as /v1.
import { GatewayError } from '../errors.js'

const make = (status: number, type: string, code: string, message: string, param: string | null = null) =>
  new GatewayError({ status, type, code, message, param })

export const adminErrors = {
  disabled: () => make(503, 'server_error', 'admin_disabled', 'The admin API is disabled: set JWT_SECRET.'),
  unauthorized: (detail: string) => make(401, 'authentication_error', 'invalid_token', `A valid admin token is required: ${detail}.`),
  forbidden: () => make(403, 'permission_error', 'insufficient_role', 'This token has the viewer role; writing needs the admin role.'),
  notFound: (what: string, id: string) => make(404, 'not_found_error', 'not_found', `${what} "${id}" does not exist.`),
  conflict: (message: string, param?: string) => make(409, 'invalid_request_error', 'conflict', message, param ?? null),
  invalid: (message: string, param?: string) => make(400, 'invalid_request_error', 'invalid_request', message, param ?? null),
}
