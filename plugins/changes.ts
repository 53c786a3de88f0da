// Runtime changes: after an admin write commits (plugins/config-service.ts),
// or when another instance announces one (plugins/cluster.ts), the in-memory
// state that caches the database (routing table, keys, prices, rules) is
// rebuilt before the next request.
import fp from 'fastify-plugin'
import type { ChangeKind } from '../lib/admin/changes.js'

export { CHANGE_KINDS, type ChangeKind } from '../lib/admin/changes.js'

declare module 'fastify' {
  interface FastifyInstance {
    changes: {
      /** Reloads this instance's caches of the given kinds from the database. */
      apply(kinds: readonly ChangeKind[]): Promise<void>
    }
  }
}

export default fp(
  async (app) => {
    const apply = async (kinds: readonly ChangeKind[]) => {
      const set = new Set(kinds)
      if (set.has('pricing')) await app.costEstimate.reload()
      if (set.has('routing') || set.has('pricing')) await app.modelRouting.reload()
      if (set.has('rules') || set.has('routing')) await app.strategy.reload()
      if (set.has('keys')) await app.keys.reload()
    }
    app.decorate('changes', { apply })
  },
  { name: 'changes', dependencies: ['model-routing', 'strategy', 'auth', 'cost-estimate'] },
)
