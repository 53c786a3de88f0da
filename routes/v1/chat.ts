import type { FastifyInstance } from 'fastify'
import { ChatCompletionRequest, ChatCompletionResponse, errorResponses, security } from './schemas.js'
import { pipelineRequest, sendProxyResponse } from './proxy-route.js'

export default async function chatRoutes(app: FastifyInstance) {
  app.post(
    '/chat/completions',
    {
      config: { runsPipeline: true },
      schema: {
        tags: ['OpenAI-compatible'],
        summary: 'Create a chat completion (streaming with stream: true)',
        description:
          'Routes by `model` to a deployment, translating to the provider when needed. Streams are Server-Sent Events of chat.completion.chunk objects ending with `data: [DONE]`.',
        security,
        body: ChatCompletionRequest,
        response: {
          200: {
            description: 'A chat.completion, or an SSE stream of chat.completion.chunk when stream is true',
            content: {
              'application/json': { schema: ChatCompletionResponse },
              'text/event-stream': { schema: { type: 'string' } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const result = await app.pipeline.run(pipelineRequest(request, reply, 'chat'))
      return sendProxyResponse(reply, request, result)
    },
  )
}
