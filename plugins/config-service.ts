// The configuration service (lib/admin/config-service.ts) wired to this
// instance: its database, its reload (changes) and its announcements to the
// other instances (cluster). Admin routes write through app.configService only.
import fp from 'fastify-plugin'
import { createConfigService, type ConfigService } from '../lib/admin/config-service.js'

declare module 'fastify' {
  interface FastifyInstance {
    configService: ConfigService
  }
}

export default fp(
  async (app) => {
    app.decorate(
      'configService',
      createConfigService({
        db: app.db,
        provider: app.dbProvider,
        publisher: { apply: (kinds) => app.changes.apply(kinds), broadcast: (kinds) => app.cluster.broadcast(kinds) },
        log: app.log,
      }),
    )
  },
  { name: 'config-service', dependencies: ['prisma', 'changes', 'cluster'] },
)
