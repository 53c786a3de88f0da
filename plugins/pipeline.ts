// The request pipeline, assembled: every stage and observer in the order the
// pipeline runs them (lib/pipeline/pipeline.ts lists that order). Each comes
// from the plugin that owns its state; nothing here decides anything.
// Also the upstream connection pools and the proxy engine, closed with the app.
import fp from 'fastify-plugin'
import { Pipeline } from '../lib/pipeline/pipeline.js'
import type { PipelineObserver } from '../lib/pipeline/types.js'
import { createEstimate, createResolveStage, mayUse } from '../lib/pipeline/stages/resolve.js'
import { createRateLimitStage } from '../lib/pipeline/stages/rate-limit.js'
import { createTokenLimitStage } from '../lib/pipeline/stages/token-limit.js'
import { createBudgetStage } from '../lib/pipeline/stages/budget.js'
import { createCapsObserver, createCapsRefreshStage } from '../lib/pipeline/stages/deployment-caps.js'
import { createPlanStage } from '../lib/pipeline/stages/plan.js'
import { createAttemptsStage } from '../lib/pipeline/stages/attempts.js'
import { createLatencyObserver } from '../lib/pipeline/observers/latency.js'
import { createCircuitObserver } from '../lib/pipeline/observers/circuit.js'
import { createUsageObserver } from '../lib/pipeline/observers/usage-records.js'
import { createTrafficObserver } from '../lib/pipeline/observers/traffic.js'
import { createMetricsObserver } from '../lib/pipeline/observers/metrics.js'
import { createTracingObserver } from '../lib/pipeline/observers/tracing.js'
import { createAccessLogObserver } from '../lib/pipeline/observers/access-log.js'
import { Pools } from '../lib/proxy/pools.js'
import { ProxyEngine } from '../lib/proxy/engine.js'
import { upstreamPolicy } from '../lib/security/upstream-guard.js'

declare module 'fastify' {
  interface FastifyInstance {
    pipeline: Pipeline
    /** The attempts stage's engine (open streams, shutdown). */
    engine: ProxyEngine
  }
}

const LEVEL_RANK: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }
/** Whether a logger at `level` writes info lines (an unknown custom level: yes). */
const infoEnabled = (level: string): boolean => (LEVEL_RANK[level] ?? 0) <= LEVEL_RANK.info!

export interface PipelinePluginOptions {
  /** Observers of the application's own, after the built-in ones. */
  observers?: PipelineObserver[]
}

export default fp<PipelinePluginOptions>(
  async (app, opts) => {
    const table = () => app.modelRouting.table
    // Admin-written providers may reach public addresses plus what ADMIN_UPSTREAM_ALLOW lists.
    const pools = new Pools(undefined, { policy: upstreamPolicy(app.config.env.ADMIN_UPSTREAM_ALLOW) })
    const engine = new ProxyEngine({
      pools,
      costOf: app.costEstimate.costOf,
      inflight: app.latency.inflight,
      // Before every attempt: the deployment's circuit, then its cap's count.
      gate: {
        admit(d) {
          const admission = app.cooldown.admit(d.id)
          if (admission.ok) app.limits.track(app.limits.caps.countRequest(d))
          return admission
        },
      },
      maxBodyBytes: app.config.env.UPSTREAM_MAX_BODY_BYTES,
      maxEventBytes: app.config.env.UPSTREAM_MAX_EVENT_BYTES,
    })
    const resolve = createResolveStage(table)
    const plan = createPlanStage({ planner: app.strategy.planner, table, allowed: mayUse, health: (id) => app.cooldown.health(id) })

    const pipeline = new Pipeline({
      resolve,
      estimate: createEstimate,
      admission: [
        createRateLimitStage(app.limits.requests),
        createTokenLimitStage({ counter: app.limits.counter, defaults: app.limits.defaults, track: app.limits.track }),
        createBudgetStage({ store: app.budgets.store, tenants: app.budgets.tenants, priceOf: app.costEstimate.priceOf, track: app.budgets.track }),
        // Shared counters only: what other instances sent to capped deployments.
        ...(app.redis ? [createCapsRefreshStage(app.limits.caps, (err) => app.log.warn({ err }, 'deployment cap refresh failed'))] : []),
      ],
      plan,
      attempts: createAttemptsStage(engine, plan, table),
      observers: [
        createCircuitObserver(app.cooldown, () => app.cooldown.settings()),
        createLatencyObserver(app.latency.tracker),
        createCapsObserver(app.limits.caps, app.limits.track),
        createUsageObserver(app.usage.push),
        createTrafficObserver(app.traffic),
        ...(app.hasDecorator('metrics') ? [createMetricsObserver(app.metrics, table)] : []),
        ...(app.tracing ? [createTracingObserver(app.tracing, table)] : []),
        createAccessLogObserver((line) => app.log.info(line, 'request'), () => infoEnabled(app.log.level)),
        ...(opts.observers ?? []),
      ],
      onError: (err, where) => app.log.error({ err }, `pipeline: ${where} failed`),
    })

    app.decorate('pipeline', pipeline)
    app.decorate('engine', engine)
    app.addHook('onClose', async () => {
      await pools.close()
    })
  },
  {
    name: 'pipeline',
    dependencies: ['config', 'redis', 'model-routing', 'cost-estimate', 'latency', 'cooldown', 'limits', 'budgets', 'usage', 'traffic', 'strategy', 'tracing'],
  },
)
