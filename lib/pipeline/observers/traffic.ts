// The dashboard's traffic figures (lib/stats/traffic.ts): every outcome with
// its duration and time to first token, and failed attempts as recent errors
// (a client leaving is nobody's error).
import type { TrafficStats } from '../../stats/traffic.js'
import type { PipelineObserver } from '../types.js'

export function createTrafficObserver(traffic: TrafficStats): PipelineObserver {
  return {
    name: 'traffic',
    onAttempt(_ctx, r) {
      if (r.ok || r.clientClosed || r.refused) return
      traffic.noteError({ at: Date.now(), deploymentId: r.deployment.id, model: r.deployment.model, status: r.status, reason: r.error ?? r.failure ?? `HTTP ${r.status}` })
    },
    onOutcome(ctx, o) {
      traffic.record({
        at: Date.now(),
        status: o.status,
        durationMs: o.durationMs,
        ttftMs: o.stream ? o.ttftMs : undefined,
        costUsd: o.costUsd,
        promptTokens: o.usage?.prompt_tokens,
        completionTokens: o.usage?.completion_tokens,
        model: (ctx.plan?.model ?? ctx.model).name,
        deploymentId: o.deployment?.id ?? null,
      })
    },
  }
}
