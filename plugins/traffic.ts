// Gateway-wide traffic for the dashboard's overview (lib/stats/traffic.ts),
// in memory. For now it is fed from the proxy engine's records; the feed is
// recordOutcome() (and noteAttemptError()), so it can move as is onto the
// request pipeline's observer, whose outcome carries duration and TTFT.
import fp from 'fastify-plugin'
import { TrafficStats, type TrafficOutcome } from '../lib/stats/traffic.js'
import type { AttemptRecord } from '../lib/proxy/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    traffic: TrafficStats
  }
}

/** Counts one finished request. */
export function recordOutcome(traffic: TrafficStats, outcome: TrafficOutcome): void {
  traffic.record(outcome)
}

/** Lists a failed upstream attempt among the recent errors (a client leaving is nobody's error). */
export function noteAttemptError(traffic: TrafficStats, r: AttemptRecord, at: number): void {
  if (r.ok || r.clientClosed) return
  traffic.noteError({ at, deploymentId: r.deployment.id, model: r.deployment.model, status: r.status, reason: r.error ?? r.failure ?? `HTTP ${r.status}` })
}

/** Requests whose attempts are being summed; a request that never completes must not pin memory. */
const MAX_OPEN_REQUESTS = 10_000

export default fp(
  async (app) => {
    const traffic = new TrafficStats()
    // The engine's completion record has no timings: sum the attempts' (the
    // backoff waits between them are left out until the pipeline feeds this).
    const open = new Map<string, { elapsedMs: number; ttftMs?: number }>()
    app.proxyObservers.push({
      onAttempt(r) {
        noteAttemptError(traffic, r, Date.now())
        let t = open.get(r.requestId)
        if (!t) {
          if (open.size >= MAX_OPEN_REQUESTS) open.delete(open.keys().next().value!)
          t = { elapsedMs: 0 }
          open.set(r.requestId, t)
        }
        if (r.ok && r.ttftMs !== undefined) t.ttftMs = t.elapsedMs + r.ttftMs
        t.elapsedMs += r.totalMs
      },
      onComplete(r) {
        const t = open.get(r.requestId)
        open.delete(r.requestId)
        recordOutcome(traffic, {
          at: Date.now(),
          status: r.status,
          durationMs: t?.elapsedMs,
          ttftMs: r.stream ? t?.ttftMs : undefined,
          costUsd: r.costUsd,
          promptTokens: r.usage?.prompt_tokens,
          completionTokens: r.usage?.completion_tokens,
          model: r.requestedModel,
          deploymentId: r.deployment?.id ?? null,
        })
      },
    })
    app.decorate('traffic', traffic)
  },
  { name: 'traffic', dependencies: ['proxy'] },
)
