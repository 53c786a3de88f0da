// 'latency' strategy: fastest deployment first.
//
// Metric: for streaming requests the EMA of time to first token (what the user
// feels), falling back to the EMA of total time when no TTFT was measured; for
// non-streaming requests the EMA of total time.
//
// Order:
//  1. under-sampled deployments (samples < MIN_SAMPLES), fewest samples first,
//     so that new or freshly loaded deployments get measured;
//  2. measured deployments, lowest metric first;
//  3. deployments with samples but no latency (every sample failed), last.
// Ties are broken by declared position.
//
// Exploration: with probability EXPLORATION_RATE (drawn from signals.random())
// one random non-first candidate is moved to the front. Without it a deployment
// that was slow once would never be tried again and its EMA would never recover.
// signals.random() is called once per rank, and a second time to choose the
// explored candidate when exploring.

import { byPosition, type Candidate, type RankedCandidate, type RoutingSignals, type Strategy } from './types.js'

/** Samples below which a deployment is considered unmeasured and tried first. */
export const MIN_SAMPLES = 3

/** Probability that a random non-first candidate is promoted to the front. */
export const EXPLORATION_RATE = 0.05

interface Entry {
  c: Candidate
  samples: number
  ms?: number
  metric: string
}

export function createLatencyStrategy(): Strategy {
  return {
    name: 'latency',
    rank(candidates: Candidate[], signals: RoutingSignals): RankedCandidate[] {
      const under: Entry[] = []
      const measured: Entry[] = []
      const unknown: Entry[] = []
      for (const c of candidates) {
        const view = signals.latency(c.id)
        const samples = view?.samples ?? 0
        let ms: number | undefined
        let metric = 'total time'
        if (signals.stream && view?.emaTtftMs !== undefined) {
          ms = view.emaTtftMs
          metric = 'time to first token'
        } else {
          ms = view?.emaMs
          if (signals.stream) metric = 'total time (no TTFT yet)'
        }
        const e: Entry = { c, samples, ms, metric }
        if (samples < MIN_SAMPLES) under.push(e)
        else if (ms === undefined || !Number.isFinite(ms)) unknown.push(e)
        else measured.push(e)
      }
      under.sort((a, b) => (a.samples !== b.samples ? a.samples - b.samples : byPosition(a.c, b.c)))
      measured.sort((a, b) => (a.ms! !== b.ms! ? a.ms! - b.ms! : byPosition(a.c, b.c)))
      unknown.sort((a, b) => byPosition(a.c, b.c))

      const ranked: RankedCandidate[] = [
        ...under.map((e) => ({
          candidate: e.c,
          score: e.ms,
          reason: `under-sampled (${e.samples}/${MIN_SAMPLES} samples): tried first to measure it`,
        })),
        ...measured.map((e) => ({
          candidate: e.c,
          score: e.ms,
          reason: `EMA ${e.metric} ${Math.round(e.ms!)} ms over ${e.samples} samples`,
        })),
        ...unknown.map((e) => ({
          candidate: e.c,
          reason: `no successful sample in ${e.samples}: ranked last`,
        })),
      ]

      if (ranked.length > 1 && signals.random() < EXPLORATION_RATE) {
        const n = ranked.length - 1
        const idx = 1 + Math.min(n - 1, Math.floor(signals.random() * n))
        const [picked] = ranked.splice(idx, 1)
        ranked.unshift({ ...picked, reason: `exploration (p=${EXPLORATION_RATE}): ${picked.reason}` })
      }
      return ranked
    },
  }
}
