import type { FastifyInstance } from 'fastify'
import { EmbeddingsRequest, EmbeddingsResponse, errorResponses, security } from './schemas.js'
import { pipelineRequest, sendProxyResponse } from './proxy-route.js'

export default async function embeddingsRoutes(app: FastifyInstance) {
  app.post(
    '/embeddings',
    {
      config: { runsPipeline: true },
      schema: {
        tags: ['OpenAI-compatible'],
        summary: 'Create embeddings',
        security,
        body: EmbeddingsRequest,
        response: { 200: EmbeddingsResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const result = await app.pipeline.run(pipelineRequest(request, reply, 'embeddings'))
      return sendProxyResponse(reply, request, result)
    },
  )
}
