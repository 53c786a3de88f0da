// How an upstream attempt fails, in OpenAI terms, and how a failure or a
// cost is written into a response.
import { errors, GatewayError, fromErrorInfo } from '../errors.js'
import type { ChatCompletionChunk } from '../openai/types.js'
import { UpstreamError, type ErrorInfo } from '../providers/types.js'
import { isDeploymentFault, type FailureKind } from '../resilience/classify.js'
import type { AttemptDeadline } from './timeouts.js'
import type { AttemptRecord } from './types.js'
import { isUpstreamBlocked, rangeLabel } from '../security/upstream-guard.js'

/** Raised inside an attempt; carries the upstream status (0 = no response). */
export class AttemptError extends Error {
  constructor(
    readonly gatewayError: GatewayError,
    readonly status: number,
    readonly kind: FailureKind,
    /** The upstream's retry-after / retry-after-ms, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(gatewayError.message)
  }

  /** What the attempt record says about this failure. */
  get recordExtra(): Partial<AttemptRecord> {
    return {
      error: this.gatewayError.code ?? undefined,
      failure: this.kind,
      fault: isDeploymentFault(this.kind, this.status, this.gatewayError.code),
      clientClosed: this.kind === 'client_closed' || undefined,
    }
  }
}

/** An attempt that threw: timeouts, client gone, network errors, in OpenAI terms. */
export function attemptFailure(err: unknown, reason: AttemptDeadline['reason']): AttemptError {
  if (err instanceof AttemptError) return err
  if (reason === 'first_byte_timeout') return new AttemptError(errors.upstreamTimeout('no response before the first-byte deadline'), 0, 'timeout')
  if (reason === 'total_timeout') return new AttemptError(errors.upstreamTimeout('the attempt exceeded its total deadline'), 0, 'timeout')
  if (reason === 'client_closed') return new AttemptError(errors.upstreamUnreachable('the client closed the request'), 0, 'client_closed')
  // The upstream guard refused the address: nothing was sent, and retrying cannot help.
  if (isUpstreamBlocked(err)) return new AttemptError(errors.upstreamAddressBlocked(rangeLabel(err.range)), 0, 'unconfigured')
  const e = err as NodeJS.ErrnoException
  if (e?.code === 'UND_ERR_CONNECT_TIMEOUT') return new AttemptError(errors.upstreamTimeout('connect timeout'), 0, 'timeout')
  return new AttemptError(errors.upstreamUnreachable(e?.code ?? e?.message ?? 'unknown error'), 0, 'network')
}

export function errorEvent(err: GatewayError): string {
  return `data: ${JSON.stringify(err.toJSON())}\n\n`
}

export function withCost(chunk: ChatCompletionChunk, costUsd: number): ChatCompletionChunk {
  return { ...chunk, switchyard: { cost_usd: Number(formatUsd(costUsd)) } }
}

export function formatUsd(value: number): string {
  return value.toFixed(10).replace(/0+$/, '').replace(/\.$/, '.0')
}

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err
  if (err instanceof UpstreamError) return fromErrorInfo(err.info as ErrorInfo)
  return errors.internal()
}

/**
 * The error an OpenAI-compatible upstream reports inside a stream
 * (`data: {"error": {...}}`), scrubbed of the provider's secrets; undefined
 * for any other event. `parsed` saves a second parse when the caller has one.
 */
export function inBandError(data: string, secrets: Array<string | undefined>, parsed?: unknown): GatewayError | undefined {
  if (!data.startsWith('{"error"')) return undefined
  let e: unknown
  try {
    e = ((parsed ?? JSON.parse(data)) as { error?: unknown }).error
  } catch {
    return undefined
  }
  if (!e || typeof e !== 'object') return undefined
  const { message, type, code } = e as { message?: unknown; type?: unknown; code?: unknown }
  return fromErrorInfo(
    {
      status: 502,
      type: typeof type === 'string' ? type : 'upstream_error',
      code: typeof code === 'string' ? code : null,
      message: typeof message === 'string' ? message : 'upstream stream error',
    },
    secrets,
  )
}
