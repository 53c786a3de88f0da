// 'latency' strategy: fastest deployment first.
//
// Metric: every candidate is compared on the SAME metric. For a streaming
// request that is the EMA of time to first token (what the user feels) when
// every measured candidate has one; as soon as one of them has none (it only
// served non-streamed traffic so far), all are compared on the EMA of total
// time, since a TTFT against a total time favours whoever has the TTFT. For
// non-streaming requests: the EMA of total time.
//
// Order:
//  1. under-sampled deployments (samples + attempts in flight < MIN_SAMPLES),
//     fewest first, so that new or freshly loaded deployments get measured.
//     Attempts in flight count as samples to come: otherwise every request
//     arriving before the first answers would pile onto the new deployment;
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
  /** Attempts in flight (under-sampled entries only). */
  pending?: number
}

export function createLatencyStrategy(): Strategy {
  return {
    name: 'latency',
    rank(candidates: Candidate[], signals: RoutingSignals): RankedCandidate[] {
      const under: Entry[] = []
      const rest: Array<{ c: Candidate; samples: number; view: ReturnType<RoutingSignals['latency']> }> = []
      for (const c of candidates) {
        const view = signals.latency(c.id)
        const samples = view?.samples ?? 0
        const busy = signals.inFlight(c.id)
        const pending = Number.isFinite(busy) && busy > 0 ? busy : 0
        if (samples + pending < MIN_SAMPLES) under.push({ c, samples, pending, ms: view?.emaMs, metric: 'total time' })
        else rest.push({ c, samples, view })
      }
      const finite = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x)
      const timed = rest.filter((e) => finite(e.view?.emaMs))
      const useTtft = signals.stream && timed.length > 0 && timed.every((e) => finite(e.view?.emaTtftMs))
      const metric = useTtft ? 'time to first token' : signals.stream ? 'total time (not every candidate has a TTFT yet)' : 'total time'
      const measured: Entry[] = []
      const unknown: Entry[] = []
      for (const e of rest) {
        const ms = useTtft ? e.view?.emaTtftMs : e.view?.emaMs
        if (finite(ms)) measured.push({ c: e.c, samples: e.samples, ms, metric })
        else unknown.push({ c: e.c, samples: e.samples, metric })
      }
      const seen = (e: Entry) => e.samples + (e.pending ?? 0)
      under.sort((a, b) => (seen(a) !== seen(b) ? seen(a) - seen(b) : byPosition(a.c, b.c)))
      measured.sort((a, b) => (a.ms! !== b.ms! ? a.ms! - b.ms! : byPosition(a.c, b.c)))
      unknown.sort((a, b) => byPosition(a.c, b.c))

      const ranked: RankedCandidate[] = [
        ...under.map((e) => ({
          candidate: e.c,
          score: e.ms,
          reason: `under-sampled (${e.samples}/${MIN_SAMPLES} samples${e.pending ? ` + ${e.pending} in flight` : ''}): tried first to measure it`,
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
