// Deployment health: a circuit breaker per deployment (lib/resilience). Every
// attempt's outcome feeds it; the planner skips deployments cooling down; the
// engine asks it before each attempt (half-open probes). State is shared
// through Redis when REDIS_URL is set, in memory otherwise.
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { cooldownSettings } from '../lib/resilience/circuit.js'
import { WindowStore } from '../lib/stats/window.js'
import { MemoryCooldownStore, RedisCooldownStore, type AttemptOutcome, type CooldownStore } from '../lib/resilience/cooldown.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Circuit-breaker state of every deployment. */
    cooldown: CooldownStore
  }
}

export interface HealthPluginOptions {
  /** Prefix of the Redis keys and channel (default: limits.redisKeyPrefix, else "switchyard:", + "cooldown:"). */
  keyPrefix?: string
}

export default fp<HealthPluginOptions>(
  async (app, opts) => {
    // Read on every use, so a routing reload applies at once.
    // Recomputed only when a routing reload brings a new table.
    let cached: { table: object; settings: ReturnType<typeof cooldownSettings> } | undefined
    const settings = () => {
      const table = app.modelRouting.table
      if (cached?.table !== table) cached = { table, settings: cooldownSettings(table.cooldown) }
      return cached.settings
    }
    let store: CooldownStore
    let subscriber: Redis | undefined
    if (app.redis) {
      const sub = app.redis.duplicate({ connectionName: 'switchyard-cooldown' })
      subscriber = sub
      sub.on('error', (err: Error) => app.log.warn({ err: err.message }, 'redis error (cooldown subscriber)'))
      const redisStore = new RedisCooldownStore({
        redis: app.redis,
        subscriber: sub,
        // Under the gateway's shared Redis key prefix (limits.redisKeyPrefix), like every other key.
        prefix: opts.keyPrefix ?? `${app.config.gateway.limits?.redisKeyPrefix ?? 'switchyard:'}cooldown:`,
        settings,
        onError: (err, what) => app.log.warn({ err }, `${what} failed`),
      })
      await redisStore.start()
      store = redisStore
    } else {
      store = new MemoryCooldownStore(settings)
    }

    app.strategy.availability.push((d) => store.unavailable(d.id))
    app.proxy.useGate({ admit: (d) => store.admit(d.id) })
    // This instance's recent outcomes per deployment (1 = fault, 0 = success),
    // for the breaker's failure-rate rule.
    const outcomes = new WindowStore(200)
    app.proxyObservers.push({
      onAttempt(r) {
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
    })
    app.decorate('cooldown', store)
    app.decorate('deploymentHealth', (id: string) => store.health(id))

    app.addHook('onClose', async () => {
      app.proxy.useGate(undefined)
      await store.close()
      if (subscriber) await subscriber.quit().catch(() => subscriber!.disconnect())
    })
  },
  { name: 'health', dependencies: ['strategy', 'proxy', 'model-routing', 'redis'] },
)
