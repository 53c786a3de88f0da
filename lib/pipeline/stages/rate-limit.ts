// Stage 3, first check: requests per minute per gateway key. The counting
// itself is @fastify/rate-limit's (memory or Redis store), reached through
// the RequestLimiter the limits plugin builds; keys without a limit never
// touch the store.
import { errors } from '../../errors.js'
import { rateHeaders, requestLimitMessage } from '../../limits/rate.js'
import type { KeyIdentity } from '../../keys/keys.js'
import type { AdmissionStage, RequestContext } from '../types.js'

export interface RequestLimitResult {
  allowed: boolean
  limit: number
  remaining: number
  resetSec: number
}

export interface RequestLimiter {
  /** Counts one request of the key; undefined when the key has no limit. */
  hit(identity: KeyIdentity): Promise<RequestLimitResult | undefined>
}

/** Adds headers to the answer (x-ratelimit-*). */
export function addResponseHeaders(ctx: RequestContext, headers: Record<string, string>): void {
  ctx.responseHeaders = ctx.responseHeaders ? Object.assign(ctx.responseHeaders, headers) : headers
}

/** Counts one request of the key: throws 429 past its limit, else the x-ratelimit-* headers (undefined: no limit). */
export async function hitRequestLimit(limiter: RequestLimiter, identity: KeyIdentity): Promise<Record<string, string> | undefined> {
  const r = await limiter.hit(identity)
  if (!r) return undefined
  const headers = rateHeaders('requests', r.limit, r.remaining, r.resetSec)
  if (!r.allowed) throw errors.rateLimited(requestLimitMessage(r.limit), { ...headers, 'retry-after': String(Math.max(1, r.resetSec)) })
  return headers
}

export function createRateLimitStage(limiter: RequestLimiter): AdmissionStage {
  return {
    name: 'rate-limit',
    async admit(ctx) {
      const headers = await hitRequestLimit(limiter, ctx.identity)
      if (headers) addResponseHeaders(ctx, headers)
      return undefined
    },
  }
}
