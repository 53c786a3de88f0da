// How long to wait before retrying the same deployment: exponential backoff
// with full jitter, or the upstream's own retry-after when it gave one.
//
// The exponential ceiling comes from cockatiel's noJitterGenerator
// (min(cap, base * 2^n)). Its fullJitterGenerator and RetryPolicy are not used:
// the former reads Math.random directly (the bounds could not be tested with
// an injected random), and a RetryPolicy wraps one function call, whereas a
// retry here must be interleaved with the upstream's retry-after, the circuit
// breaker's admission of each attempt, the fall-back to other deployments and
// the client's abort signal. So the policy is a few pure functions and one
// abortable sleep, and the engine drives the loop.
import { noJitterGenerator } from 'cockatiel'
import type { RetriesConfig } from '../config/gateway-config.js'
import type { CancelSignal } from '../proxy/cancel.js'

export interface RetryPolicy {
  /** Retries per deployment after its first attempt; 0 disables retries. */
  attempts: number
  /** Backoff base: retry n (0-based) waits random(0, min(capMs, baseMs * 2^n)). */
  baseMs: number
  /** Ceiling of the exponential backoff. */
  capMs: number
  /** Longest upstream retry-after that is waited for; a longer one moves on to the next deployment. */
  maxRetryAfterMs: number
}

/** Two retries per deployment (three attempts in all). */
export const DEFAULT_RETRY_ATTEMPTS = 2
export const DEFAULT_RETRY_BASE_MS = 100
export const DEFAULT_RETRY_CAP_MS = 2_000
export const DEFAULT_MAX_RETRY_AFTER_MS = 10_000

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  attempts: DEFAULT_RETRY_ATTEMPTS,
  baseMs: DEFAULT_RETRY_BASE_MS,
  capMs: DEFAULT_RETRY_CAP_MS,
  maxRetryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS,
})

/** Most specific wins: pass the global layer first, then the model's. */
export function mergeRetryPolicy(...layers: Array<RetriesConfig | undefined>): RetryPolicy {
  const out: RetryPolicy = { ...DEFAULT_RETRY_POLICY }
  for (const layer of layers) {
    if (!layer) continue
    for (const k of Object.keys(out) as Array<keyof RetryPolicy>) {
      const v = layer[k]
      if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[k] = v
    }
  }
  return out
}

/** The upper bound of retry `retry` (0-based): min(capMs, baseMs * 2^retry). */
export function backoffCeiling(retry: number, policy: Pick<RetryPolicy, 'baseMs' | 'capMs'>): number {
  const [ceiling] = noJitterGenerator(Math.max(0, retry), {
    initialDelay: policy.baseMs,
    maxDelay: policy.capMs,
    exponent: 2,
    generator: noJitterGenerator,
  })
  return Number.isFinite(ceiling) ? ceiling : policy.capMs
}

/** Full jitter: uniformly random in [0, ceiling). `random` returns [0, 1). */
export function backoffDelay(retry: number, policy: Pick<RetryPolicy, 'baseMs' | 'capMs'>, random: () => number = Math.random): number {
  const r = Math.min(Math.max(random(), 0), 1)
  return Math.floor(r * backoffCeiling(retry, policy))
}

export type RetryWait =
  | { wait: true; delayMs: number; source: 'backoff' | 'retry-after' }
  /** The upstream asked for a longer pause than the policy allows: try elsewhere now. */
  | { wait: false; reason: 'retry_after_too_long'; retryAfterMs: number }

/**
 * The wait before retry `retry` (0-based) of the same deployment. An upstream
 * retry-after (in ms) is honoured as given when within maxRetryAfterMs, and
 * never waited for beyond it.
 */
export function retryWait(retry: number, policy: RetryPolicy, retryAfterMs?: number, random: () => number = Math.random): RetryWait {
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0) {
    if (retryAfterMs > policy.maxRetryAfterMs) return { wait: false, reason: 'retry_after_too_long', retryAfterMs }
    return { wait: true, delayMs: Math.ceil(retryAfterMs), source: 'retry-after' }
  }
  return { wait: true, delayMs: backoffDelay(retry, policy, random), source: 'backoff' }
}

/**
 * Waits `ms`, or less when `signal` aborts first. Resolves true when the full
 * wait elapsed, false when aborted. The timer and the listener are removed in
 * both cases, so nothing outlives the wait.
 */
export function sleep(ms: number, signal?: CancelSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false)
  if (ms <= 0) return Promise.resolve(true)
  return new Promise<boolean>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
