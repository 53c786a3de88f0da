// Model routing state: the YAML seed applied to the database at start-up,
// then an in-memory RoutingTable that every request resolves against.
// reload() rebuilds it after a change (admin write, or a notification from
// another instance).
import fp from 'fastify-plugin'
import { loadConfig, seedFromConfig } from '../lib/storage/config-store.js'
import { RoutingTable } from '../lib/routing/table.js'

export interface RoutingState {
  table: RoutingTable
  reload(): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    modelRouting: RoutingState
  }
}

/**
 * Two gateways starting on one SQLite file (an embedded router's server and
 * its direct fallback, or two processes) can both seed at once; SQLite then
 * refuses one transaction's lock upgrade at once with "database is locked"
 * (its busy handler does not wait there). The seed is idempotent: try again.
 */
async function seedOnce<T>(seed: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await seed()
    } catch (err) {
      if (i >= tries || !/database is locked|SQLITE_BUSY/i.test(String((err as Error)?.message))) throw err
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** i + Math.random() * 50))
    }
  }
}

export default fp(
  async (app) => {
    const report = await seedOnce(() => seedFromConfig(app.db, app.config.gateway))
    if (report.adminOwned.length) {
      app.log.info({ adminOwned: report.adminOwned }, 'YAML entries skipped: changed through the admin API, which wins')
    }
    const state: RoutingState = {
      table: new RoutingTable(await loadConfig(app.db)),
      async reload() {
        state.table = new RoutingTable(await loadConfig(app.db))
      },
    }
    for (const [name, p] of state.table.providers) {
      if (p.missingKey) app.log.warn({ provider: name }, `provider ${name}: API key ${p.missingKey} is not set or names a variable PROVIDER_KEY_VARS does not allow; its deployments will be skipped`)
    }
    app.decorate('modelRouting', state)
  },
  { name: 'model-routing', dependencies: ['prisma'] },
)
