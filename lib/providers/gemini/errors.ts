// Gemini errors are google.rpc.Status objects: { error: { code, message, status, details } }.
// The canonical `status` name decides the OpenAI error; the HTTP status is the fallback.
import type { ErrorInfo } from '../types.js'
import { errorTypeForStatus, retryAfterSeconds } from '../openai/index.js'
import { scrubSecrets } from '../../security/scrub.js'

export interface GeminiErrorObject {
  code?: number
  message?: string
  status?: string
  details?: Array<{ '@type'?: string; reason?: string; retryDelay?: string; [k: string]: unknown }>
}

type Headers = Record<string, string | string[] | undefined>

const BY_STATUS: Record<string, { status: number; type: string; code: string | null }> = {
  INVALID_ARGUMENT: { status: 400, type: 'invalid_request_error', code: null },
  FAILED_PRECONDITION: { status: 400, type: 'invalid_request_error', code: null },
  OUT_OF_RANGE: { status: 400, type: 'invalid_request_error', code: null },
  UNAUTHENTICATED: { status: 401, type: 'authentication_error', code: 'invalid_api_key' },
  PERMISSION_DENIED: { status: 403, type: 'permission_error', code: null },
  NOT_FOUND: { status: 404, type: 'not_found_error', code: null },
  RESOURCE_EXHAUSTED: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  INTERNAL: { status: 500, type: 'server_error', code: null },
  UNAVAILABLE: { status: 503, type: 'server_error', code: null },
  DEADLINE_EXCEEDED: { status: 504, type: 'server_error', code: null },
}


/** Google API keys start with "AIza" (and travel as ?key=); never let one reach a client or a log. */
const redact = (message: string): string => scrubSecrets(message)

/** google.protobuf.Duration in JSON form: "30s", "1.5s". */
function durationSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const m = /^(\d+(?:\.\d+)?)s$/.exec(value.trim())
  return m ? Number(m[1]) : undefined
}

function retryDelay(err: GeminiErrorObject): number | undefined {
  if (!Array.isArray(err.details)) return undefined
  for (const d of err.details) {
    if (d && typeof d === 'object' && String(d['@type']).endsWith('google.rpc.RetryInfo')) return durationSeconds(d.retryDelay)
  }
  return undefined
}

/** Google reports a bad key as a 400 INVALID_ARGUMENT with reason API_KEY_INVALID. */
function isBadApiKey(err: GeminiErrorObject): boolean {
  return Array.isArray(err.details) && err.details.some((d) => d && d.reason === 'API_KEY_INVALID')
}

/** Maps one Gemini error object (HTTP body or in-stream) to OpenAI terms. */
export function geminiErrorInfo(err: GeminiErrorObject, httpStatus: number, headers: Headers = {}): ErrorInfo {
  const known = (typeof err.status === 'string' && BY_STATUS[err.status]) || undefined
  const status = known?.status ?? (typeof err.code === 'number' && err.code >= 400 ? err.code : httpStatus)
  const message = redact(typeof err.message === 'string' && err.message !== '' ? err.message : `gemini returned ${err.status ?? status}`)
  if (isBadApiKey(err)) return { status: 401, type: 'authentication_error', code: 'invalid_api_key', message, param: null }
  const info: ErrorInfo = {
    status,
    type: known?.type ?? errorTypeForStatus(status),
    code: known?.code ?? null,
    message,
    param: null,
  }
  const retryAfterSec = retryAfterSeconds(headers) ?? retryDelay(err)
  if (retryAfterSec !== undefined) info.retryAfterSec = retryAfterSec
  return info
}

/** ProviderAdapter.error for Gemini. */
export function geminiError(status: number, body: string, headers: Headers): ErrorInfo {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    parsed = undefined
  }
  // streamGenerateContent without alt=sse answers with a JSON array, errors included.
  const root = Array.isArray(parsed) ? parsed[0] : parsed
  const err = (root as { error?: unknown } | undefined)?.error
  if (err && typeof err === 'object') return geminiErrorInfo(err as GeminiErrorObject, status, headers)

  const excerpt = redact(body.slice(0, 200).replace(/\s+/g, ' ').trim())
  const info: ErrorInfo = {
    status: status >= 500 ? 502 : status,
    type: status >= 500 ? 'upstream_error' : errorTypeForStatus(status),
    code: null,
    message: `gemini returned ${status}${excerpt ? `: ${excerpt}` : ''}`,
    param: null,
  }
  const retryAfterSec = retryAfterSeconds(headers)
  if (retryAfterSec !== undefined) info.retryAfterSec = retryAfterSec
  return info
}
