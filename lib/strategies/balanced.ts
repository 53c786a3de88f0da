// 'balanced' strategy: smooth weighted round-robin (the nginx upstream
// algorithm). On each pick every candidate's current weight grows by its
// weight, the largest current weight wins and the winner's current weight is
// reduced by the sum of the weights. Over any sum(weights) consecutive picks of
// a stable set each deployment is picked exactly `weight` times, and picks are
// interleaved (5:1:1 gives a a b a c a a), not bursty.
//
// State: one Map of current weights keyed by deployment id, inside the
// instance. Ids are unique across models so sets of different models do not
// interfere. The update is synchronous, so picks from interleaved async
// requests are serialized by the event loop and the proportions stay exact.
//
// The full list: the pick first, then the other candidates by descending
// current weight (the ones the algorithm would pick next), ties by position.
// Weights that are not finite and > 0 count as 0: such a deployment is only
// a fallback. Ties for the pick go to the lowest position.

import { byPosition, type Candidate, type RankedCandidate, type Strategy } from './types.js'

export interface BalancedStrategy extends Strategy {
  /** Current weights, for tests and diagnostics. */
  currentWeights(): ReadonlyMap<string, number>
  /** Forget all state. */
  reset(): void
}

function effectiveWeight(c: Candidate): number {
  return Number.isFinite(c.weight) && c.weight > 0 ? c.weight : 0
}

export function createBalancedStrategy(): BalancedStrategy {
  const current = new Map<string, number>()

  return {
    name: 'balanced',
    currentWeights: () => current,
    reset: () => current.clear(),
    rank(candidates: Candidate[]): RankedCandidate[] {
      if (candidates.length === 0) return []
      const ordered = [...candidates].sort(byPosition)
      let total = 0
      let best: Candidate | undefined
      let bestCw = -Infinity
      for (const c of ordered) {
        const w = effectiveWeight(c)
        const cw = (current.get(c.id) ?? 0) + w
        current.set(c.id, cw)
        total += w
        if (cw > bestCw) {
          best = c
          bestCw = cw
        }
      }
      const pick = best!
      current.set(pick.id, bestCw - total)

      const rest = ordered
        .filter((c) => c !== pick)
        .sort((a, b) => {
          const d = current.get(b.id)! - current.get(a.id)!
          return d !== 0 ? d : byPosition(a, b)
        })
      const share = (c: Candidate): string =>
        total > 0 ? `${((effectiveWeight(c) / total) * 100).toFixed(1)}%` : 'n/a'
      return [
        {
          candidate: pick,
          score: effectiveWeight(pick),
          reason: `weighted round-robin pick (weight ${effectiveWeight(pick)}, share ${share(pick)})`,
        },
        ...rest.map((c) => ({
          candidate: c,
          score: effectiveWeight(c),
          reason: `round-robin fallback (weight ${effectiveWeight(c)}, share ${share(c)})`,
        })),
      ]
    },
  }
}
