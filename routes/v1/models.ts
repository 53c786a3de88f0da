import type { FastifyInstance } from 'fastify'
import { modelAllowed } from '../../lib/keys/keys.js'
import { globMatch } from '../../lib/routing/glob.js'
import { errorResponses, ModelList, security } from './schemas.js'

export default async function modelRoutes(app: FastifyInstance) {
  app.get(
    '/models',
    {
      schema: {
        tags: ['OpenAI-compatible'],
        summary: 'List the public model names this gateway serves',
        description: 'Configured models and their aliases, filtered by what the key may use. Pattern routes are open-ended and not listed.',
        security,
        response: { 200: ModelList, 401: errorResponses[401] },
      },
    },
    async (request) => {
      const identity = request.identity!
      const table = app.modelRouting.table
      const data = []
      for (const model of table.models.values()) {
        if (!modelAllowed(identity, model.name, globMatch)) continue
        for (const id of [model.name, ...model.aliases]) {
          data.push({ id, object: 'model' as const, created: 0, owned_by: model.deployments[0]?.provider ?? 'switchyard' })
        }
      }
      return { object: 'list' as const, data }
    },
  )
}
