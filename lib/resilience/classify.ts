// What a failed attempt means for the request (retry the same deployment, try
// the next one, switch to a larger-context model, or give up) and for the
// deployment's circuit breaker (its fault or the client's). Pure functions.

/** How an attempt failed. */
export type FailureKind =
  /** Connection refused/reset, DNS, TLS: no response. */
  | 'network'
  /** Connect, first-byte or total deadline. */
  | 'timeout'
  /** The upstream answered with an error status (or an in-band error event). */
  | 'http'
  /** A 2xx whose body is unusable: not JSON, untranslatable, an empty or truncated stream. */
  | 'bad_response'
  /** The gateway cannot express the request for this provider (no upstream call made). */
  | 'unsupported'
  /** The provider is not usable (unknown, API key not set). */
  | 'unconfigured'
  /** The client went away. */
  | 'client_closed'

export type FailureAction =
  /** Retry the same deployment after a backoff (if retries remain). */
  | 'retry'
  /** Move on to the next candidate (deployment, then fallback model). */
  | 'next'
  /** The prompt does not fit: move on to the model's contextWindowFallbacks. */
  | 'context_window'
  /** Answer the client with this error. */
  | 'stop'

export interface FailureFacts {
  kind: FailureKind
  /** Upstream HTTP status; 0 when no response arrived. */
  status: number
  /** The error as mapped to OpenAI terms by the provider adapter. */
  error: { statusCode: number; code: string | null; type?: string; message: string }
}

/** Upstream statuses worth retrying on the same deployment (529: Anthropic overloaded). */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504, 529])

/**
 * Statuses that are the request's fault: retrying or sending it elsewhere
 * would fail the same way, so they are answered at once.
 */
export const CLIENT_ERROR_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404, 422])

// Provider wordings of "the prompt is longer than the context window":
//   OpenAI / Azure / vLLM: "This model's maximum context length is 8192 tokens. However, ..."
//   Anthropic: "prompt is too long: 210000 tokens > 200000 maximum",
//              "input length and `max_tokens` exceed context limit: 199000 + 21333 > 200000"
//   Gemini (INVALID_ARGUMENT): "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
const CONTEXT_WINDOW_MESSAGES = [
  /maximum context length/i,
  /context_length_exceeded/i,
  /prompt is too long/i,
  /exceeds? (?:the )?context (?:limit|window|length)/i,
  /token count[^.]*exceeds the maximum/i,
]

/** True when an upstream error says the prompt does not fit the model's context window. */
export function isContextWindowError(error: { statusCode?: number; status?: number; code?: string | null; message?: string }): boolean {
  if (error.code === 'context_length_exceeded') return true
  const status = error.statusCode ?? error.status
  // Always a client error; a 5xx mentioning tokens is something else.
  if (status !== 400 && status !== 413 && status !== 422) return false
  const message = error.message ?? ''
  return CONTEXT_WINDOW_MESSAGES.some((re) => re.test(message))
}

/** What the engine does after a failed attempt. */
export function classifyFailure(f: FailureFacts): FailureAction {
  switch (f.kind) {
    case 'client_closed':
      return 'stop'
    case 'unconfigured':
    case 'unsupported':
      // Nothing was sent; another provider may well take the request.
      return 'next'
    case 'network':
    case 'timeout':
    case 'bad_response':
      return 'retry'
    case 'http':
      if (isContextWindowError({ statusCode: f.error.statusCode, code: f.error.code, message: f.error.message })) return 'context_window'
      if (RETRY_STATUSES.has(f.status) || f.error.code === 'overloaded_error') return 'retry'
      if (CLIENT_ERROR_STATUSES.has(f.status)) return 'stop'
      if (f.status >= 500 || f.status === 409) return 'next'
      return 'stop'
  }
}

/**
 * Whether a failure counts against the deployment's circuit breaker: 5xx,
 * 429, timeouts, connection errors and unusable responses do; client errors
 * (4xx), client disconnects and gateway-side configuration problems do not.
 */
export function isDeploymentFault(kind: FailureKind, status: number, code?: string | null): boolean {
  switch (kind) {
    case 'network':
    case 'timeout':
    case 'bad_response':
      return true
    case 'http':
      return status >= 500 || status === 429 || status === 408 || code === 'overloaded_error'
    default:
      return false
  }
}
