// Latency statistics (lib/stats/latency-tracker.ts): every attempt's times
// and token counts, except attempts the client cut short and attempts the
// circuit breaker refused (neither says anything about the deployment).
import type { LatencyTracker } from '../../stats/latency-tracker.js'
import type { PipelineObserver } from '../types.js'

export function createLatencyObserver(tracker: LatencyTracker): PipelineObserver {
  return {
    name: 'latency',
    onAttempt(_ctx, r) {
      if (r.clientClosed || r.refused) return
      tracker.record({
        deploymentId: r.deployment.id,
        model: r.deployment.model,
        ok: r.ok,
        status: r.status,
        totalMs: r.totalMs,
        ttftMs: r.ttftMs,
        stream: r.stream,
        promptTokens: r.usage?.prompt_tokens,
        completionTokens: r.usage?.completion_tokens,
        at: Date.now(),
      })
    },
  }
}
