// Anthropic errors -> OpenAI errors. Anthropic answers non-2xx calls (and
// in-band stream failures) with `{type:'error', error:{type, message}}`; the
// error type decides the OpenAI status/type, and `code` carries the Anthropic
// type verbatim so clients and logs can still tell the cases apart.
import type { ErrorInfo } from '../types.js'
import { retryAfterSeconds } from '../openai/index.js'
import { scrubSecrets } from '../../security/scrub.js'

type Headers = Record<string, string | string[] | undefined>

interface Mapping {
  status: number
  type: string
}

const BY_ANTHROPIC_TYPE: Record<string, Mapping> = {
  invalid_request_error: { status: 400, type: 'invalid_request_error' },
  authentication_error: { status: 401, type: 'authentication_error' },
  billing_error: { status: 402, type: 'invalid_request_error' },
  permission_error: { status: 403, type: 'permission_error' },
  not_found_error: { status: 404, type: 'not_found_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  rate_limit_error: { status: 429, type: 'rate_limit_error' },
  api_error: { status: 500, type: 'server_error' },
  timeout_error: { status: 504, type: 'server_error' },
  // 529 is not a standard status and OpenAI clients would not retry it; 503 is
  // what they understand as "temporarily unavailable, try again".
  overloaded_error: { status: 503, type: 'server_error' },
}

/** Mapping for an upstream status when the body names no known error type. */
function byStatus(status: number): Mapping & { code: string | null } {
  if (status === 529) return { ...BY_ANTHROPIC_TYPE.overloaded_error!, code: 'overloaded_error' }
  if (status >= 500) return { status: 502, type: 'upstream_error', code: null }
  if (status === 401) return { status, type: 'authentication_error', code: null }
  if (status === 403) return { status, type: 'permission_error', code: null }
  if (status === 404) return { status, type: 'not_found_error', code: null }
  if (status === 429) return { status, type: 'rate_limit_error', code: null }
  return { status, type: 'invalid_request_error', code: null }
}

// Anthropic never echoes the key today; this guards the day a message (or a
// proxy in front of it) does, since these messages are shown to clients.
const scrub = (message: string): string => scrubSecrets(message)

interface AnthropicErrorObject {
  type: string
  message: string
}

/** Reads `{type:'error', error:{type, message}}`; undefined for anything else. */
export function parseAnthropicError(json: unknown): AnthropicErrorObject | undefined {
  const err = (json as { error?: unknown } | null | undefined)?.error
  if (!err || typeof err !== 'object') return undefined
  const { type, message } = err as { type?: unknown; message?: unknown }
  if (typeof type !== 'string') return undefined
  return { type, message: typeof message === 'string' ? message : type }
}

/**
 * An in-band error (stream `event: error`, or an error object in a 200 body):
 * there is no meaningful HTTP status, so unknown types become a 502.
 */
export function anthropicErrorInfo(type: string, message: string): ErrorInfo {
  const known = BY_ANTHROPIC_TYPE[type]
  const mapping = known ?? { status: 502, type: 'upstream_error' }
  return { status: mapping.status, type: mapping.type, code: type, message: scrub(message), param: null }
}

/** ProviderAdapter.error for Anthropic: a non-2xx answer -> ErrorInfo. */
export function anthropicError(status: number, body: string, headers: Headers): ErrorInfo {
  let parsed: AnthropicErrorObject | undefined
  try {
    parsed = parseAnthropicError(JSON.parse(body))
  } catch {
    parsed = undefined
  }
  let info: ErrorInfo
  if (parsed && BY_ANTHROPIC_TYPE[parsed.type]) {
    info = anthropicErrorInfo(parsed.type, parsed.message)
  } else {
    const mapping = byStatus(status)
    info = {
      status: mapping.status,
      type: mapping.type,
      code: parsed?.type ?? mapping.code,
      message: parsed ? scrub(parsed.message) : `Anthropic returned HTTP ${status}`,
      param: null,
    }
  }
  const retryAfterSec = retryAfterSeconds(headers)
  if (retryAfterSec !== undefined) info.retryAfterSec = retryAfterSec
  return info
}
