// OpenAPI 3 document at /docs/json and the Swagger UI at /docs.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Switchyard',
          description: 'OpenAI-compatible LLM gateway: routing, translation, cost and latency.',
          version: '0.1.0',
        },
        components: {
          securitySchemes: {
            bearerAuth: { type: 'http', scheme: 'bearer', description: 'Gateway key or MASTER_KEY (on /v1); admin JWT (on /admin)' },
            apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' },
          },
        },
        tags: [
          { name: 'OpenAI-compatible', description: 'The API applications call' },
          { name: 'Admin', description: 'The control plane (JWT)' },
          { name: 'Health', description: 'Liveness and readiness' },
        ],
      },
    })
    await app.register(swaggerUi, { routePrefix: '/docs' })
  },
  { name: 'swagger' },
)
