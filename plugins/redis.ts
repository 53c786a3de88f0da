// The shared Redis connection, when REDIS_URL is set. Without it every piece
// of shared state (rate-limit counters, cooldowns, in-flight counts, budget
// reservations) stays in this process's memory and the gateway runs alone.
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import type { GatewayConfig } from '../lib/config/gateway-config.js'

export const DEFAULT_REDIS_KEY_PREFIX = 'switchyard:'

/** Every Redis key and channel of this gateway starts with this (YAML limits.redisKeyPrefix). */
export function redisKeyPrefix(gateway: GatewayConfig): string {
  return gateway.limits?.redisKeyPrefix ?? DEFAULT_REDIS_KEY_PREFIX
}

declare module 'fastify' {
  interface FastifyInstance {
    /** undefined when REDIS_URL is not set. */
    redis?: Redis
  }
}

export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    // Fail fast instead of queueing forever while Redis is down.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: false,
  })
}

export default fp(
  async (app) => {
    const url = app.config.env.REDIS_URL
    if (!url) {
      app.decorate('redis', undefined)
      return
    }
    const redis = createRedis(url, 'switchyard')
    redis.on('error', (err) => app.log.warn({ err: err.message }, 'redis error'))
    await redis.ping()
    app.decorate('redis', redis)
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect())
    })
  },
  { name: 'redis', dependencies: ['config'] },
)
