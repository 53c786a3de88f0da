// Stage 3, second check: tokens per minute per gateway key. The request's
// estimate (prompt + max_tokens) is reserved in one atomic check-and-add, so
// concurrent requests see each other; the outcome settles it to the tokens
// really used (the upstream's usage, or the gateway's estimate when a stream
// ended without one). See lib/limits/token-reservations.ts.
import { errors } from '../../errors.js'
import { secondsToNextMinute } from '../../limits/periods.js'
import { checkTokens, rateBucket, rateHeaders, tokenLimitMessage, tpmLimitOf, type RateDefaults } from '../../limits/rate.js'
import { reserveTokens, settleTokens } from '../../limits/token-reservations.js'
import type { WindowCounter } from '../../limits/window-counter.js'
import type { Usage } from '../../openai/types.js'
import type { AdmissionStage } from '../types.js'
import { addResponseHeaders } from './rate-limit.js'

export interface TokenLimitDeps {
  counter: WindowCounter
  defaults: RateDefaults
  /** Runs a counter update in the background (settlements never delay an answer). */
  track(update: Promise<unknown>): void
}

export const totalTokens = (u: Usage | undefined): number => (u ? (u.total_tokens ?? (u.prompt_tokens ?? 0) + (u.completion_tokens ?? 0)) : 0)

export function createTokenLimitStage(deps: TokenLimitDeps): AdmissionStage {
  return {
    name: 'token-limit',
    async admit(ctx) {
      const limit = tpmLimitOf(ctx.identity, deps.defaults)
      if (limit === undefined) return undefined
      const now = Date.now()
      const wanted = ctx.estimate.promptTokens() + (ctx.estimate.maxOutputTokens ?? 0)
      const r = await reserveTokens(deps.counter, `tpm:${rateBucket(ctx.identity)}`, wanted, limit, now)
      const reset = secondsToNextMinute(now)
      if (!r.ok) {
        const c = checkTokens(limit, r.total, wanted)
        throw errors.rateLimited(tokenLimitMessage(c), { ...rateHeaders('tokens', limit, c.remaining, reset), 'retry-after': String(reset) })
      }
      // What is left once this request's estimate is counted.
      addResponseHeaders(ctx, rateHeaders('tokens', limit, limit - r.total, reset))
      const reservation = r.reservation
      return {
        settle: (outcome) => deps.track(settleTokens(deps.counter, reservation, totalTokens(outcome.usage), Date.now())),
        release: () => deps.track(settleTokens(deps.counter, reservation, 0, Date.now())),
      }
    },
  }
}
