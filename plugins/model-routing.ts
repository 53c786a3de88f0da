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

export default fp(
  async (app) => {
    const report = await seedFromConfig(app.db, app.config.gateway)
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
