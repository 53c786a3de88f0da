// The control plane, encapsulated under /admin with its JWT guard.
import type { FastifyInstance } from 'fastify'
import { registerAdminHooks } from './hooks.js'
import routingAdminRoutes from './routing.js'
import keyRoutes from './keys.js'
import auditRoutes from './audit.js'

export default async function admin(app: FastifyInstance) {
  registerAdminHooks(app)
  await app.register(routingAdminRoutes)
  await app.register(keyRoutes)
  await app.register(auditRoutes)
}
