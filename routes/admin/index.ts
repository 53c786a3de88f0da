// The control plane, encapsulated under /admin with its JWT guard.
import type { FastifyInstance } from 'fastify'
import { registerAdminHooks } from './hooks.js'
import routingAdminRoutes from './routing.js'
import keyRoutes from './keys.js'
import auditRoutes from './audit.js'
import healthAdminRoutes from './health.js'
import usageRoutes from './usage.js'
import providerRoutes from './providers.js'
import modelRoutes from './models.js'
import deploymentRoutes from './deployments.js'
import pricingRoutes from './pricing.js'
import ruleRoutes from './rules.js'
import configRoutes from './config.js'
import statsRoutes from './stats.js'

export default async function admin(app: FastifyInstance) {
  registerAdminHooks(app)
  await app.register(routingAdminRoutes)
  await app.register(keyRoutes)
  await app.register(auditRoutes)
  await app.register(healthAdminRoutes)
  await app.register(usageRoutes)
  await app.register(providerRoutes)
  await app.register(modelRoutes)
  await app.register(deploymentRoutes)
  await app.register(pricingRoutes)
  await app.register(ruleRoutes)
  await app.register(configRoutes)
  await app.register(statsRoutes)
}
