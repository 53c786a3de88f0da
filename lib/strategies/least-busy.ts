// 'least-busy' strategy: the deployment with the fewest in-flight requests
// first, ascending.
//
// Ties are broken by a ROTATING offset over the declared order (not by plain
// position): each call advances the offset by one, so when every deployment is
// idle (the common case at low load) traffic rotates across them instead of
// piling on the first declared deployment.

import { byPosition, type Candidate, type RankedCandidate, type RoutingSignals, type Strategy } from './types.js'

export function createLeastBusyStrategy(): Strategy {
  let offset = 0

  return {
    name: 'least-busy',
    rank(candidates: Candidate[], signals: RoutingSignals): RankedCandidate[] {
      const n = candidates.length
      if (n === 0) return []
      const start = offset % n
      offset = (offset + 1) % Number.MAX_SAFE_INTEGER
      const entries = [...candidates].sort(byPosition).map((c, i) => {
        const raw = signals.inFlight(c.id)
        return {
          c,
          busy: Number.isFinite(raw) && raw > 0 ? raw : 0,
          tie: (i - start + n) % n,
        }
      })
      entries.sort((a, b) => (a.busy !== b.busy ? a.busy - b.busy : a.tie - b.tie))
      return entries.map((e) => ({
        candidate: e.c,
        score: e.busy,
        reason: `${e.busy} request${e.busy === 1 ? '' : 's'} in flight`,
      }))
    },
  }
}
