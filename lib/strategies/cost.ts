// 'cost' strategy: cheapest estimated request first.
//
// estimated cost = promptTokens * input / 1e6 + expectedCompletion * output / 1e6
// expectedCompletion = maxOutputTokens (the caller's upper bound, when given)
//                   ?? the deployment's observed mean completion tokens
//                   ?? DEFAULT_EXPECTED_COMPLETION_TOKENS
// Cache pricing is not used: the signals carry no cache hit estimate.
// Unpriced candidates go last, in declared order. Ties are broken by position.

import { byPosition, type Candidate, type Pricing, type RankedCandidate, type RoutingSignals, type Strategy } from './types.js'

/**
 * Completion tokens assumed when the request gives no max_tokens and the
 * deployment has no observed mean yet: a typical chat answer (a few paragraphs).
 * It only matters when input/output price ratios differ between deployments.
 */
export const DEFAULT_EXPECTED_COMPLETION_TOKENS = 256

/** Estimated USD cost of one request. Prices are USD per 1M tokens. */
export function estimateCost(pricing: Pricing, promptTokens: number, completionTokens: number): number {
  return (promptTokens * pricing.input) / 1e6 + (completionTokens * pricing.output) / 1e6
}

function expectedCompletion(c: Candidate, signals: RoutingSignals): { tokens: number; source: string } {
  if (signals.maxOutputTokens !== undefined && Number.isFinite(signals.maxOutputTokens)) {
    return { tokens: signals.maxOutputTokens, source: 'max tokens' }
  }
  const mean = signals.latency(c.id)?.meanCompletionTokens
  if (mean !== undefined && Number.isFinite(mean)) return { tokens: mean, source: 'observed mean' }
  return { tokens: DEFAULT_EXPECTED_COMPLETION_TOKENS, source: 'default' }
}

function isPriced(p: Pricing | undefined): p is Pricing {
  return p !== undefined && Number.isFinite(p.input) && Number.isFinite(p.output)
}

function usd(x: number): string {
  return `$${x.toPrecision(3)}`
}

export function createCostStrategy(): Strategy {
  return {
    name: 'cost',
    rank(candidates: Candidate[], signals: RoutingSignals): RankedCandidate[] {
      const priced: Array<{ c: Candidate; cost: number; reason: string }> = []
      const unpriced: Candidate[] = []
      for (const c of candidates) {
        if (!isPriced(c.pricing)) {
          unpriced.push(c)
          continue
        }
        const exp = expectedCompletion(c, signals)
        const cost = estimateCost(c.pricing, signals.promptTokens, exp.tokens)
        priced.push({
          c,
          cost,
          reason: `estimated ${usd(cost)} for ${signals.promptTokens} prompt + ${Math.round(exp.tokens)} completion tokens (${exp.source})`,
        })
      }
      priced.sort((a, b) => (a.cost !== b.cost ? a.cost - b.cost : byPosition(a.c, b.c)))
      unpriced.sort(byPosition)
      return [
        ...priced.map((p) => ({ candidate: p.c, score: p.cost, reason: p.reason })),
        ...unpriced.map((c) => ({ candidate: c, reason: 'no pricing: ranked after priced deployments' })),
      ]
    },
  }
}
