// Runtime changes: after an admin write, the in-memory state that caches the
// database (routing table, keys, prices, rules) is rebuilt before the next
// request. Other instances are told through the notifier set by the
// cluster plugin (Postgres LISTEN/NOTIFY or Redis pub/sub).
import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'

export const CHANGE_KINDS = ['routing', 'keys', 'pricing', 'rules'] as const
export type ChangeKind = (typeof CHANGE_KINDS)[number]

declare module 'fastify' {
  interface FastifyInstance {
    changes: {
      /** Reloads this instance, then tells the others. */
      publish(kinds: ChangeKind[]): Promise<void>
      /** Reloads this instance only (on a notification from another one). */
      apply(kinds: ChangeKind[]): Promise<void>
      /** Set by the cluster plugin when instances share a database. */
      broadcast?: (kinds: ChangeKind[]) => Promise<void>
    }
    audit(request: FastifyRequest, action: string, target: string | null, before: unknown, after: unknown): Promise<void>
  }
}

export default fp(
  async (app) => {
    const apply = async (kinds: ChangeKind[]) => {
      const set = new Set(kinds)
      if (set.has('pricing')) await app.pricing.reload()
      if (set.has('routing') || set.has('pricing')) await app.modelRouting.reload()
      if (set.has('rules') || set.has('routing')) await app.strategy.reload()
      if (set.has('keys')) await app.keys.reload()
    }
    const changes: import('fastify').FastifyInstance['changes'] = {
      apply,
      async publish(kinds) {
        await apply(kinds)
        await changes.broadcast?.(kinds).catch((err) => app.log.error({ err }, 'change broadcast failed'))
      },
    }
    app.decorate('changes', changes)
    app.decorate('audit', async (request: FastifyRequest, action: string, target: string | null, before: unknown, after: unknown) => {
      await app.db.auditLog.create({
        data: {
          id: randomUUID(),
          actor: request.user?.sub ?? 'unknown',
          action,
          target,
          before: before === undefined ? null : JSON.stringify(before),
          after: after === undefined ? null : JSON.stringify(after),
        },
      })
    })
  },
  { name: 'changes', dependencies: ['model-routing', 'strategy', 'auth', 'cost-estimate'] },
)
