// Switchyard as one Fastify plugin (`switchyard`): its own plugins in
// dependency order, then its routes, all inside one encapsulated context, so
// a host application can register it under a prefix and keep its own hooks,
// parsers and error handlers. buildApp() wraps it in a Fastify instance of
// its own for the standalone server; server.ts is the only caller of listen().
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify'
import { randomUUID } from 'node:crypto'
import { pino, type Logger } from 'pino'
import { LazyChildLogger } from './lib/observability/lazy-logger.js'
import fp from 'fastify-plugin'
import { validatorCompiler } from './lib/validation.js'
import { encodingsFor, warmTokenizers } from './lib/cost/encoders.js'
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
import metricsPlugin from './plugins/metrics.js'
import tracingPlugin from './plugins/tracing.js'
import healthRoutes from './routes/health.js'
import adminRoutes from './routes/admin/index.js'
import v1Routes from './routes/v1/index.js'

/** What the plugin takes (besides Fastify's own `prefix` and `logLevel`). */
export interface SwitchyardPluginOptions extends ConfigPluginOptions {
  /** Already loaded configuration (wins over `env` / `gateway`). */
  config?: AppConfig
  /** Pipeline observers of the application's own, run after the built-in ones. */
  observers?: PipelineObserver[]
  /**
   * false: the data plane and its state only, no routes, no Swagger, no
   * dashboard, no load shedding (direct mode). Default true.
   */
  http?: boolean
}

export interface BuildOptions extends SwitchyardPluginOptions {
  logger?: FastifyServerOptions['logger']
  /** Where the default logger writes (tests read it); stdout otherwise. */
  logStream?: NodeJS.WritableStream
}

export const REDACT = [
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

/** The whole gateway, encapsulated: register it in any Fastify app. */
export const switchyard: FastifyPluginAsync<SwitchyardPluginOptions> = async (app, opts) => {
  const config = opts.config ?? loadAppConfig(opts)
  const http = opts.http !== false

  app.setValidatorCompiler(validatorCompiler)
  // Loading an encoding takes 0.2-0.4 s of CPU and 5-15 MB of heap (lib/cost/encoders.ts): the ones the configured deployments need are paid
  // before listening, not by the first request that counts tokens; a model added later loads its own on first use.
  app.addHook('onReady', async () => warmTokenizers(encodingsFor([...app.modelRouting.table.deployments.values()].map((d) => d.upstreamModel))))

  await app.register(configPlugin, { config })
  if (http) await app.register(swaggerPlugin)
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
  // Observers' own state: Prometheus metrics (and GET /metrics), traces.
  const metricsConfig = config.gateway.observability?.metrics
  if (http && metricsConfig?.enabled !== false) {
    await app.register(metricsPlugin, { keyLabels: metricsConfig?.keyLabels, maxLabelValues: metricsConfig?.maxLabelValues })
  }
  await app.register(tracingPlugin, { env: opts.env })
  // The request pipeline, assembled from the above (lib/pipeline/pipeline.ts).
  await app.register(pipelinePlugin, { observers: opts.observers })
  // Runtime changes and other instances.
  await app.register(changesPlugin)
  await app.register(clusterPlugin)
  await app.register(configServicePlugin)
  if (!http) return

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  // One line per request: the pipeline's access-log observer writes it for
  // requests that reached the pipeline (with tokens, cost, deployment...).
  app.addHook('onResponse', async (request, reply) => {
    if (request.ranPipeline) return
    request.log.info({ method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Number(reply.elapsedTime.toFixed(2)) }, 'request')
  })
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
}

/** Fastify's options for a gateway that owns its server. */
export function serverOptions(config: AppConfig, opts: Pick<BuildOptions, 'logger' | 'logStream'> = {}): FastifyServerOptions {
  return {
    // The gateway's own pino (the version package.json pins; Fastify shares it), unless the caller brings logger options.
    ...(opts.logger !== undefined
      ? { logger: opts.logger }
      : {
          loggerInstance: pino({ level: config.env.LOG_LEVEL, redact: { paths: REDACT, censor: '[redacted]' } }, opts.logStream),
          // A request's own child logger is made only when it writes a line (lib/observability/lazy-logger.ts).
          childLoggerFactory: (logger, bindings, options) => new LazyChildLogger(logger as Logger, bindings, options) as unknown as FastifyBaseLogger,
        }),
    bodyLimit: config.env.BODY_LIMIT_BYTES,
    // Start-up migrates the database and opens the writer thread: slow on a busy machine, not stuck.
    pluginTimeout: 60_000,
    // Honour a caller's request id when it is sane, so traces join up.
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req_${randomUUID().replace(/-/g, '')}`
    },
    requestIdHeader: false,
    // One line per request is written by the plugin's onResponse hook.
    logController: new LogController({ disableRequestLogging: true }),
  }
}

/** The standalone gateway: a Fastify instance of its own with the plugin at its root. */
export async function buildApp(opts: BuildOptions = {}): Promise<FastifyInstance> {
  const config = opts.config ?? loadAppConfig(opts)
  const app = Fastify(serverOptions(config, opts))
  // The root is the gateway's own: its decorations (app.db, app.pipeline...) are reachable there.
  // env too: the tracing plugin reads the OTEL_* variables from the same environment as the config.
  await app.register(fp(switchyard, { name: 'switchyard' }), { config, env: opts.env, observers: opts.observers, http: opts.http })
  return app
}
