// Rate-limit state: the counters behind requests per minute per key
// (@fastify/rate-limit), tokens per minute per key and the per-deployment
// caps (lib/limits). Counters live in Redis when REDIS_URL is set (shared by
// every instance), else in memory. The checks themselves are pipeline stages
// (lib/pipeline/stages/rate-limit.ts, token-limit.ts, deployment-caps.ts).
//
// Defaults (YAML `limits`): rpm / tpm absent = unlimited; a key's own
// rpmLimit / tpmLimit wins over them; the master key has its own bucket.
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import { DeploymentCaps } from '../lib/limits/deployment-caps.js'
import { MemoryWindowCounter, RedisWindowCounter, type WindowCounter } from '../lib/limits/window-counter.js'
import { rateBucket, rpmLimitOf, type RateDefaults } from '../lib/limits/rate.js'
import type { RequestLimiter } from '../lib/pipeline/stages/rate-limit.js'
import type { KeyIdentity } from '../lib/keys/keys.js'
import { redisKeyPrefix } from './redis.js'

export const RPM_WINDOW_MS = 60_000

declare module 'fastify' {
  interface FastifyInstance {
    limits: {
      defaults: RateDefaults
      /** Tokens per minute per key, and the deployment caps' counts. */
      counter: WindowCounter
      caps: DeploymentCaps
      /** Requests per minute per key. */
      requests: RequestLimiter
      /** Runs a counter update in the background; failures are logged. */
      track(update: Promise<unknown>): void
      /** Waits for the counter updates started so far (tests, shutdown). */
      idle(): Promise<void>
    }
  }
}

export default fp(
  async (app) => {
    const cfg = app.config.gateway.limits ?? {}
    const defaults: RateDefaults = { rpm: cfg.rpm, tpm: cfg.tpm }
    const prefix = redisKeyPrefix(app.config.gateway)
    const counter: WindowCounter = app.redis ? new RedisWindowCounter(app.redis, `${prefix}win:`) : new MemoryWindowCounter()
    const pending = new Set<Promise<unknown>>()
    const track = (p: Promise<unknown>) => {
      const q = p.catch((err) => app.log.warn({ err }, 'rate counter update failed')).finally(() => pending.delete(q))
      pending.add(q)
    }

    // The library counts; it is called with the key's identity rather than
    // hooked onto routes, so every entry point and direct mode share it.
    await app.register(rateLimit, {
      global: false,
      timeWindow: RPM_WINDOW_MS,
      keyGenerator: (request) => rateBucket((request as LimitedRequest).identity),
      max: (request) => rpmLimitOf((request as LimitedRequest).identity, defaults) ?? Number.MAX_SAFE_INTEGER,
      // A Redis outage lets requests through rather than failing them all.
      skipOnError: true,
      ...(app.redis ? { redis: app.redis, nameSpace: `${prefix}rpm:` } : {}),
    })
    const limiter = app.createRateLimit()
    const requests: RequestLimiter = {
      async hit(identity) {
        if (rpmLimitOf(identity, defaults) === undefined) return undefined
        const r = await limiter({ identity, routeOptions: { config: {} } } as unknown as FastifyRequest)
        if (r.isAllowed) return undefined
        return { allowed: !r.isExceeded, limit: r.max, remaining: r.remaining, resetSec: r.ttlInSeconds }
      },
    }

    app.decorate('limits', {
      defaults,
      counter,
      caps: new DeploymentCaps(counter),
      requests,
      track,
      async idle() {
        while (pending.size > 0) await Promise.all([...pending])
      },
    })
    app.addHook('onClose', async () => {
      while (pending.size > 0) await Promise.all([...pending])
    })
  },
  { name: 'limits', dependencies: ['config', 'redis'] },
)

/** What the limiter reads of a request. */
interface LimitedRequest {
  identity: KeyIdentity
}
