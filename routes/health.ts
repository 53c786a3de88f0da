import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from './type-provider.js'

const Health = Type.Object({ status: Type.String() })
const Ready = Type.Object({
  status: Type.String(),
  checks: Type.Object({ database: Type.String(), config: Type.String() }),
})

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    { config: { neverShed: true }, schema: { tags: ['Health'], summary: 'Liveness: the process is up', response: { 200: Health } } },
    async () => ({ status: 'ok' }),
  )
  app.get(
    '/health/ready',
    {
      config: { neverShed: true },
      schema: {
        tags: ['Health'],
        summary: 'Readiness: database reachable and config loaded',
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_request, reply) => {
      let database = 'ok'
      try {
        await app.db.$queryRawUnsafe('SELECT 1')
      } catch {
        database = 'unreachable'
      }
      const config = app.modelRouting.table.models.size > 0 || app.modelRouting.table.providers.size > 0 ? 'ok' : 'empty'
      const ok = database === 'ok'
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks: { database, config } })
    },
  )
}

export default healthRoutes
