// The circuit breaker's view of attempts: deployment faults and successes
// feed each deployment's circuit (lib/resilience/cooldown.ts); client errors
// and clients leaving are neutral. This instance's recent outcomes back the
// failure-rate rule.
import type { CooldownSettings } from '../../resilience/circuit.js'
import type { AttemptOutcome, CooldownStore } from '../../resilience/cooldown.js'
import { WindowStore } from '../../stats/window.js'
import type { PipelineObserver } from '../types.js'

export function createCircuitObserver(store: CooldownStore, settings: () => CooldownSettings): PipelineObserver {
  // 1 = fault, 0 = success, per deployment.
  const outcomes = new WindowStore(200)
  return {
    name: 'circuit',
    onAttempt(_ctx, r) {
      if (r.refused) return
      const outcome: AttemptOutcome = r.ok ? 'success' : r.fault ? 'failure' : 'neutral'
      const id = r.deployment.id
      const now = Date.now()
      if (outcome !== 'neutral') outcomes.push(id, now, outcome === 'failure' ? 1 : 0)
      let window
      if (outcome === 'failure') {
        const since = now - settings().windowMs
        const w = outcomes.get(id)
        window = w ? { requests: w.count(since), failures: w.sum(since) } : undefined
      }
      void store.record(id, outcome, { probe: r.probe, error: r.error ?? null, window })
    },
  }
}
