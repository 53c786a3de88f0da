// Builds the gateway: external plugins, then Switchyard's own in dependency
// order, then the routes. server.ts is the only caller of listen().
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { randomUUID } from 'node:crypto'
import { validatorCompiler } from './lib/validation.js'
import { warmTokenizers } from './lib/cost/tokens.js'
import { discardRequestBody } from './lib/oversized-body.js'
import configPlugin, { loadAppConfig, type AppConfig, type ConfigPluginOptions } from './plugins/config.js'
import prismaPlugin from './plugins/prisma.js'
import redisPlugin from './plugins/redis.js'
import writerPlugin from './plugins/writer.js'
import swaggerPlugin from './plugins/swagger.js'
import modelRoutingPlugin from './plugins/model-routing.js'
import authPlugin from './plugins/auth.js'
import strategyPlugin from './plugins/strategy.js'
import latencyPlugin from './plugins/latency.js'
import costEstimatePlugin from './plugins/cost-estimate.js'
import usagePlugin from './plugins/usage.js'
import changesPlugin from './plugins/changes.js'
import cooldownPlugin from './plugins/cooldown.js'
import pipelinePlugin from './plugins/pipeline.js'
import type { PipelineObserver } from './lib/pipeline/types.js'
import clusterPlugin from './plugins/cluster.js'
import configServicePlugin from './plugins/config-service.js'
import limitsPlugin from './plugins/limits.js'
import budgetsPlugin from './plugins/budgets.js'
import sheddingPlugin from './plugins/shedding.js'
import trafficPlugin from './plugins/traffic.js'
import uiPlugin from './plugins/ui.js'
import healthRoutes from './routes/health.js'
import adminRoutes from './routes/admin/index.js'
import v1Routes from './routes/v1/index.js'

export interface BuildOptions extends ConfigPluginOptions {
  config?: AppConfig
  logger?: FastifyServerOptions['logger']
  /** Where the default logger writes (tests read it); stdout otherwise. */
  logStream?: NodeJS.WritableStream
  /** Pipeline observers of the application's own, run after the built-in ones. */
  observers?: PipelineObserver[]
}

const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers["x-goog-api-key"]',
  '*.apiKey',
  '*.*.apiKey',
  'apiKey',
  'headers.authorization',
  'headers["x-api-key"]',
]

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export async function buildApp(opts: BuildOptions = {}): Promise<FastifyInstance> {
  const config = opts.config ?? loadAppConfig(opts)
  const app = Fastify({
    logger: opts.logger ?? {
      level: config.env.LOG_LEVEL,
      redact: { paths: REDACT, censor: '[redacted]' },
      ...(opts.logStream ? { stream: opts.logStream } : {}),
    },
    bodyLimit: config.env.BODY_LIMIT_BYTES,
    // Start-up migrates the database and opens the writer thread: slow on a busy machine, not stuck.
    pluginTimeout: 60_000,
    // Honour a caller's request id when it is sane, so traces join up.
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req_${randomUUID().replace(/-/g, '')}`
    },
    requestIdHeader: false,
    // One line per request is written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
  })

  app.setValidatorCompiler(validatorCompiler)
  // Loading both encodings takes ~0.7 s of CPU: paid before listening, not by the first request that counts tokens.
  app.addHook('onReady', async () => warmTokenizers())
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Number(reply.elapsedTime.toFixed(2)) }, 'request')
  })

  await app.register(configPlugin, { config })
  await app.register(swaggerPlugin)
  // Resources.
  await app.register(prismaPlugin)
  await app.register(redisPlugin)
  await app.register(writerPlugin)
  // State the pipeline's stages read and write.
  await app.register(modelRoutingPlugin)
  await app.register(authPlugin)
  await app.register(costEstimatePlugin)
  await app.register(latencyPlugin)
  await app.register(cooldownPlugin)
  await app.register(limitsPlugin)
  await app.register(budgetsPlugin)
  await app.register(usagePlugin)
  await app.register(trafficPlugin)
  await app.register(strategyPlugin)
  // The request pipeline, assembled from the above (lib/pipeline/pipeline.ts).
  await app.register(pipelinePlugin, { observers: opts.observers })
  // Runtime changes, other instances, load shedding, the dashboard.
  await app.register(changesPlugin)
  await app.register(clusterPlugin)
  await app.register(configServicePlugin)
  await app.register(sheddingPlugin)
  await app.register(uiPlugin)

  await app.register(healthRoutes)
  await app.register(v1Routes, { prefix: '/v1' })
  await app.register(adminRoutes, { prefix: '/admin' })

  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    // Read the rest of an oversized body first, so the client gets the 413 rather than a reset.
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') await discardRequestBody(request.raw)
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500
    if (status >= 500) request.log.error({ err }, 'unhandled error')
    return reply.code(status).send({ error: status >= 500 ? 'Internal Server Error' : err.message, statusCode: status })
  })
  return app
}
