// Gateway errors (OpenAI-shaped: status, type, code) -> Anthropic's error
// shape {"type":"error","error":{"type","message"}} with Anthropic's statuses,
// for the HTTP answer and for the in-stream `error` event.
import type { GatewayErrorLike } from '../shared.js'
import type { ErrorBody, ErrorType } from './types.js'

export type { GatewayErrorLike }

export interface AnthropicErrorResponse {
  status: number
  body: ErrorBody
  /** retry-after and x-ratelimit-* carried over from the gateway error. */
  headers: Record<string, string>
}

/** Anthropic's documented status for each error type. */
export const ANTHROPIC_ERROR_STATUS: Record<ErrorType, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
}

// Gateway codes meaning "no capacity right now", which Anthropic clients know as 529.
const OVERLOADED_CODES = new Set(['all_deployments_cooling_down', 'overloaded', 'no_available_deployment', 'overloaded_error'])

function errorType(status: number, code: string | null): ErrorType {
  // An Anthropic upstream's own error type travels in `code`; keep it as is.
  if (code !== null && code in ANTHROPIC_ERROR_STATUS) return code as ErrorType
  if ((code !== null && OVERLOADED_CODES.has(code)) || status === 503 || status === 529) return 'overloaded_error'
  switch (status) {
    case 401:
      return 'authentication_error'
    case 402:
      return 'billing_error'
    case 403:
      return 'permission_error'
    case 404:
      return 'not_found_error'
    case 413:
      return 'request_too_large'
    case 429:
      return 'rate_limit_error'
    case 504:
      return 'timeout_error'
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error'
  }
}

export function anthropicError(err: GatewayErrorLike): AnthropicErrorResponse {
  const status = err.statusCode ?? err.status ?? 500
  const type = errorType(status, err.code)
  // Other 4xx (409, 415, 422) keep their status: Anthropic uses invalid_request_error for "4XX not listed".
  const outStatus = type === 'invalid_request_error' && status >= 400 && status < 500 ? status : ANTHROPIC_ERROR_STATUS[type]
  return { status: outStatus, body: { type: 'error', error: { type, message: err.message } }, headers: { ...err.headers } }
}
