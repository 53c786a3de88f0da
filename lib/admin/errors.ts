// Errors of the admin API, in the same { error: { message, type, param, code } } shape as /v1.
// Their response schemas (for the OpenAPI document) are routes/admin/schemas.ts's adminErrorResponses.
import { define } from '../errors.js'

export const adminErrors = {
  disabled: define(503, 'server_error', 'admin_disabled', () => 'The admin API is disabled: set JWT_SECRET.'),
  unauthorized: define(401, 'authentication_error', 'invalid_token', (detail: string) => `A valid admin token is required: ${detail}.`),
  forbidden: define(403, 'permission_error', 'insufficient_role', () => 'This token has the viewer role; writing needs the admin role.'),
  notFound: define(404, 'not_found_error', 'not_found', (what: string, id: string) => `${what} "${id}" does not exist.`),
  conflict: define(409, 'invalid_request_error', 'conflict', (message: string, _param?: string) => message, (_m: string, param?: string) => param ?? null),
  invalid: define(400, 'invalid_request_error', 'invalid_request', (message: string, _param?: string) => message, (_m: string, param?: string) => param ?? null),
  /** The configuration changed between a write's checks and its transaction (lib/admin/config-service.ts). */
  changedMeanwhile: define(409, 'invalid_request_error', 'conflict', () =>
    'The configuration changed while this request was being checked; send it again.'),
  /** The write is committed and audited, but this instance failed to reload it (the other instances were told). */
  reloadFailed: define(500, 'server_error', 'reload_failed', () =>
    'The change was saved and audited, but this instance failed to apply it; it applies at the next reload or restart.'),
}
