// Several instances, one configuration: a change made through one instance's
// admin API is announced to the others (app.cluster.broadcast, called by the
// config service after the commit), which reload it at once. Redis pub/sub
// when REDIS_URL is set, else Postgres LISTEN/NOTIFY when the database is
// Postgres; alone (SQLite, no Redis) there is nobody to tell and broadcast
// does nothing.
//
// LISTEN needs a connection of its own held open, which Prisma does not
// offer; this plugin is the one place that talks to Postgres through `pg`
// directly, and only to listen. Notifications are sent through Prisma.
//
// Notifications are fire-and-forget: one sent while a listener is
// reconnecting is lost. So after every reconnect (Redis or Postgres) the
// instance reloads everything, and while instances share state it also
// reloads its keys every KEYS_RELOAD_INTERVAL_MS, so a revoked key stops
// working everywhere within that time even if a notification went missing.
import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { CHANGE_KINDS, changeMessage, parseChange, type ChangeKind } from '../lib/admin/changes.js'
import { createRedis, redisKeyPrefix } from './redis.js'

export const CHANGE_CHANNEL = 'switchyard_changes'

declare module 'fastify' {
  interface FastifyInstance {
    cluster: {
      /** This process, as named in its notifications (its own are ignored). */
      instanceId: string
      /** How changes travel between instances; 'none' when alone. */
      transport: 'redis' | 'postgres' | 'none'
      /** Tells the other instances to reload these kinds. */
      broadcast(kinds: readonly ChangeKind[]): Promise<void>
    }
  }
}

export default fp(
  async (app) => {
    const instanceId = randomUUID()
    const onMessage = (text: string) => {
      const kinds = parseChange(text, instanceId)
      if (!kinds) return
      app.changes.apply(kinds).catch((err) => app.log.error({ err, kinds }, 'reloading a change from another instance failed'))
    }
    const reloadAll = (why: string) =>
      app.changes.apply([...CHANGE_KINDS]).then(
        () => app.log.info(`cluster: reloaded everything after ${why}`),
        (err) => app.log.error({ err }, `cluster: reloading after ${why} failed`),
      )
    const startKeyReloads = () => {
      const every = app.config.env.KEYS_RELOAD_INTERVAL_MS
      if (!every) return
      const timer = setInterval(() => {
        app.keys.reload().catch((err) => app.log.warn({ err: err.message }, 'cluster: periodic key reload failed'))
      }, every)
      timer.unref()
      app.addHook('onClose', async () => clearInterval(timer))
    }

    const redisUrl = app.config.env.REDIS_URL
    if (app.redis && redisUrl) {
      // Under the shared key prefix, so separate deployments on one Redis stay apart.
      const channel = `${redisKeyPrefix(app.config.gateway)}changes`
      const subscriber = createRedis(redisUrl, 'switchyard-sub')
      subscriber.on('error', (err) => app.log.warn({ err: err.message }, 'redis subscriber error'))
      subscriber.on('message', (_channel: string, text: string) => onMessage(text))
      await subscriber.subscribe(channel)
      // ioredis resubscribes by itself after a reconnect, but what was
      // published meanwhile is gone: subscribe again (so the reload below
      // cannot miss a change made while it runs), then reload everything.
      let ready = true
      subscriber.on('close', () => {
        ready = false
      })
      subscriber.on('ready', () => {
        if (ready) return
        ready = true
        subscriber
          .subscribe(channel)
          .then(() => reloadAll('the Redis subscriber reconnected'))
          .catch((err) => app.log.warn({ err: err.message }, 'cluster: resubscribing after a Redis reconnect failed'))
      })
      startKeyReloads()
      const publisher = app.redis
      app.decorate('cluster', {
        instanceId,
        transport: 'redis' as const,
        async broadcast(kinds: readonly ChangeKind[]) {
          await publisher.publish(channel, changeMessage(instanceId, kinds))
        },
      })
      app.addHook('onClose', async () => {
        await subscriber.quit().catch(() => subscriber.disconnect())
      })
      app.log.info('cluster: changes shared through Redis pub/sub')
      return
    }

    if (app.dbProvider === 'postgres') {
      let client: pg.Client | undefined
      let closing = false
      let retry: NodeJS.Timeout | undefined
      const listen = async () => {
        const c = new pg.Client({ connectionString: app.config.env.DATABASE_URL.replace(/[?&]schema=[^&]*/, '') })
        c.on('notification', (n) => {
          if (n.channel === CHANGE_CHANNEL && n.payload) onMessage(n.payload)
        })
        c.on('error', (err) => {
          app.log.warn({ err: err.message }, 'postgres LISTEN connection lost; reconnecting')
          void c.end().catch(() => undefined)
          if (!closing) retry = setTimeout(() => void listen().catch(() => undefined), 1000)
        })
        await c.connect()
        await c.query(`LISTEN ${CHANGE_CHANNEL}`)
        client = c
        // Changes made while disconnected were missed: reload everything once.
        await app.changes.apply([...CHANGE_KINDS])
      }
      await listen()
      startKeyReloads()
      app.decorate('cluster', {
        instanceId,
        transport: 'postgres' as const,
        async broadcast(kinds: readonly ChangeKind[]) {
          await app.db.$executeRaw`SELECT pg_notify(${CHANGE_CHANNEL}, ${changeMessage(instanceId, kinds)})`
        },
      })
      app.addHook('onClose', async () => {
        closing = true
        clearTimeout(retry)
        await client?.end().catch(() => undefined)
      })
      app.log.info('cluster: changes shared through Postgres LISTEN/NOTIFY')
      return
    }

    app.decorate('cluster', { instanceId, transport: 'none' as const, broadcast: async () => undefined })
  },
  { name: 'cluster', dependencies: ['config', 'changes', 'prisma', 'redis', 'auth'] },
)
