// Cool-downs: a circuit breaker per deployment (lib/resilience). The
// pipeline feeds it every attempt's outcome (lib/pipeline/observers/
// circuit.ts), the planner skips deployments cooling down, and the attempts
// ask it before each try (half-open probes). State is shared through Redis
// when REDIS_URL is set, in memory otherwise.
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { cooldownSettings } from '../lib/resilience/circuit.js'
import { MemoryCooldownStore, RedisCooldownStore, type CooldownStore } from '../lib/resilience/cooldown.js'
import { redisKeyPrefix } from './redis.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Circuit-breaker state of every deployment. */
    cooldown: CooldownStore
  }
}

export default fp(
  async (app) => {
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
        // Under the gateway's shared Redis key prefix, like every other key.
        prefix: `${redisKeyPrefix(app.config.gateway)}cooldown:`,
        settings,
        onError: (err, what) => app.log.warn({ err }, `${what} failed`),
      })
      await redisStore.start()
      store = redisStore
    } else {
      store = new MemoryCooldownStore(settings)
    }

    app.decorate('cooldown', store)

    app.addHook('onClose', async () => {
      await store.close()
      if (subscriber) await subscriber.quit().catch(() => subscriber!.disconnect())
    })
  },
  { name: 'cooldown', dependencies: ['model-routing', 'redis'] },
)
