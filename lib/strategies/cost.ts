// 'cost' strategy: cheapest estimated request first.
//
// estimated cost = promptTokens(c) * input / 1e6 + expectedCompletion * output / 1e6
//
// promptTokens(c) is counted with each candidate's own tokenizer (what its
// provider would bill). expectedCompletion is ONE number for every candidate
// (lib/strategies/expected-completion.ts: max_tokens, else the model's mean
// over all its deployments, else 256): pricing each deployment on its own
// history made a deployment measured at 4 tokens look cheaper than ones
// assumed at 256, whatever their prices.
// Cache pricing is not used: the signals carry no cache hit estimate.
// Unpriced candidates go last, in declared order. Ties are broken by position.

import { byPosition, type Candidate, type Pricing, type RankedCandidate, type RoutingSignals, type Strategy } from './types.js'
import { describeExpectedCompletion, expectedCompletion } from './expected-completion.js'

export { DEFAULT_EXPECTED_COMPLETION_TOKENS } from './expected-completion.js'

/** Estimated USD cost of one request. Prices are USD per 1M tokens. */
export function estimateCost(pricing: Pricing, promptTokens: number, completionTokens: number): number {
  return (promptTokens * pricing.input) / 1e6 + (completionTokens * pricing.output) / 1e6
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
      const exp = signals.expectedCompletion ?? expectedCompletion(signals.maxOutputTokens, candidates.map((c) => signals.latency(c.id)))
      const origin = describeExpectedCompletion(exp)
      const priced: Array<{ c: Candidate; cost: number; reason: string }> = []
      const unpriced: Candidate[] = []
      for (const c of candidates) {
        if (!isPriced(c.pricing)) {
          unpriced.push(c)
          continue
        }
        const prompt = signals.promptTokensOf?.(c) ?? signals.promptTokens
        const cost = estimateCost(c.pricing, prompt, exp.tokens)
        priced.push({
          c,
          cost,
          reason: `estimated ${usd(cost)} for ${prompt} prompt + ${exp.tokens} completion tokens (${origin})`,
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
