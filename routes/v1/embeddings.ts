import type { FastifyInstance } from 'fastify'
import type { EmbeddingsRequest as EmbeddingsBody } from '../../lib/openai/types.js'
import { EmbeddingsRequest, EmbeddingsResponse, errorResponses, security } from './schemas.js'
import { prepareJob, sendProxyResponse } from './proxy-route.js'

export default async function embeddingsRoutes(app: FastifyInstance) {
  app.post(
    '/embeddings',
    {
      schema: {
        tags: ['OpenAI-compatible'],
        summary: 'Create embeddings',
        security,
        body: EmbeddingsRequest,
        response: { 200: EmbeddingsResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const job = prepareJob<EmbeddingsBody>(app, request, reply, false)
      await app.limits.admit(request, reply, job)
      const result = await app.proxy.embeddings(job)
      return sendProxyResponse(reply, request, result)
    },
  )
}
