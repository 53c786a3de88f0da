// Any OpenAI-compatible server (OpenAI, Groq, Together, vLLM, Ollama, another
// gateway). No translation: the body is forwarded with only `model` rewritten.
import type { Endpoint, ErrorInfo, ProviderAdapter, ProviderSettings } from '../types.js'

const DEFAULT_BASE_URL = 'https://api.openai.com/v1'

function join(base: string, path: string): string {
  return base.endsWith('/') ? base + path : `${base}/${path}`
}

export function openaiHeaders(provider: ProviderSettings): Record<string, string> {
  const headers: Record<string, string> = { ...provider.headers }
  if (provider.apiKey) headers.authorization = `Bearer ${provider.apiKey}`
  return headers
}

/** OpenAI's error `type` for an HTTP status, when the upstream gave none. */
export function errorTypeForStatus(status: number): string {
  if (status === 401) return 'authentication_error'
  if (status === 403) return 'permission_error'
  if (status === 404) return 'not_found_error'
  if (status === 429) return 'rate_limit_error'
  if (status >= 500) return 'server_error'
  return 'invalid_request_error'
}

export function retryAfterSeconds(headers: Record<string, string | string[] | undefined>): number | undefined {
  const raw = headers['retry-after']
  const value = Array.isArray(raw) ? raw[0] : raw
  if (!value) {
    const ms = headers['retry-after-ms']
    const msValue = Array.isArray(ms) ? ms[0] : ms
    return msValue && Number.isFinite(Number(msValue)) ? Number(msValue) / 1000 : undefined
  }
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000)
}

/**
 * OpenAI-shaped upstream errors keep their type/code/message; anything else
 * becomes a 502 that still carries the upstream's status and a short excerpt.
 */
export function openaiError(status: number, body: string, headers: Record<string, string | string[] | undefined>): ErrorInfo {
  const retryAfterSec = retryAfterSeconds(headers)
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    parsed = undefined
  }
  const err = (parsed as { error?: unknown } | undefined)?.error
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; type?: unknown; code?: unknown; param?: unknown }
    return {
      status,
      type: typeof e.type === 'string' ? e.type : errorTypeForStatus(status),
      code: typeof e.code === 'string' ? e.code : e.code == null ? null : String(e.code),
      message: typeof e.message === 'string' ? e.message : `upstream returned ${status}`,
      param: typeof e.param === 'string' ? e.param : null,
      retryAfterSec,
    }
  }
  if (typeof err === 'string') return { status, type: errorTypeForStatus(status), code: null, message: err, retryAfterSec }
  const excerpt = body.slice(0, 200).replace(/\s+/g, ' ').trim()
  return {
    status: status >= 500 ? 502 : status,
    type: status >= 500 ? 'upstream_error' : errorTypeForStatus(status),
    code: null,
    message: `upstream returned ${status}${excerpt ? `: ${excerpt}` : ''}`,
    retryAfterSec,
  }
}

/** Endpoints other than chat, for requests the front doors pass through as sent (legacy completions, the Responses API). */
export const openaiNative = {
  completions: (provider: ProviderSettings): Endpoint => ({ url: join(provider.baseUrl ?? DEFAULT_BASE_URL, 'completions'), headers: openaiHeaders(provider) }),
  responses: (provider: ProviderSettings): Endpoint => ({ url: join(provider.baseUrl ?? DEFAULT_BASE_URL, 'responses'), headers: openaiHeaders(provider) }),
}

export const openai: ProviderAdapter = {
  type: 'openai',
  endpoint(op, provider) {
    const base = provider.baseUrl ?? DEFAULT_BASE_URL
    return { url: join(base, op === 'chat' ? 'chat/completions' : 'embeddings'), headers: openaiHeaders(provider) }
  },
  error: openaiError,
}
