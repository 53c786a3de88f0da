// OpenAPI 3 document at /docs/json and the Swagger UI at /docs.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

// JSON Schema 2019+ writes exclusiveMinimum: 0 (a number); OpenAPI 3.0 wants
// minimum: 0 plus exclusiveMinimum: true. The route schemas keep the modern
// form (Fastify validates with it); the document gets the 3.0 form.
function toOpenApi30Bounds(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(toOpenApi30Bounds)
  if (!node || typeof node !== 'object') return
  const o = node as Record<string, unknown>
  for (const [bound, limit] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof o[bound] === 'number') {
      o[limit] = o[bound]
      o[bound] = true
    }
  }
  Object.values(o).forEach(toOpenApi30Bounds)
}

export default fp(
  async (app) => {
    await app.register(swagger, {
      transformObject: (documentObject) => {
        const doc = structuredClone('openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject)
        toOpenApi30Bounds(doc)
        return doc
      },
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
          { name: 'Anthropic-compatible', description: 'The Anthropic Messages API (Claude Code, the Anthropic SDKs): x-api-key or Bearer gateway key, Anthropic error shape' },
          { name: 'Admin', description: 'The control plane (JWT)' },
          { name: 'Health', description: 'Liveness and readiness' },
        ],
      },
    })
    await app.register(swaggerUi, { routePrefix: '/docs' })
  },
  { name: 'swagger' },
)
