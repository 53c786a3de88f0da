// The OpenAI-compatible surface, encapsulated so its auth, body parser and
// error format apply under /v1 only.
import type { FastifyInstance } from 'fastify'
import { registerV1Hooks } from './hooks.js'
import chatRoutes from './chat.js'
import embeddingsRoutes from './embeddings.js'
import modelRoutes from './models.js'
import routingRoutes from './routing.js'
import responsesRoutes from './responses.js'
import messagesRoutes from './messages.js'
import completionsRoutes from './completions.js'

export default async function v1(app: FastifyInstance) {
  registerV1Hooks(app)
  await app.register(chatRoutes)
  await app.register(embeddingsRoutes)
  await app.register(modelRoutes)
  await app.register(routingRoutes)
  await app.register(responsesRoutes)
  await app.register(messagesRoutes)
  await app.register(completionsRoutes)
}
