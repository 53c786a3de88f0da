// 'model' strategy: the deployments in their declared order. The first declared
// deployment takes all the traffic; the others are fallbacks, in order.

import { byPosition, type Candidate, type RankedCandidate, type Strategy } from './types.js'

export function createModelStrategy(): Strategy {
  return {
    name: 'model',
    rank(candidates: Candidate[]): RankedCandidate[] {
      return [...candidates].sort(byPosition).map((candidate, i) => ({
        candidate,
        score: candidate.position,
        reason: i === 0
          ? `declared first (position ${candidate.position})`
          : `declared fallback #${i} (position ${candidate.position})`,
      }))
    },
  }
}
