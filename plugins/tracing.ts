// OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT)
// is set; nothing is created otherwise (lib/observability/tracing.ts). The
// pipeline's tracing observer feeds it; queued spans are exported on close.
import fp from 'fastify-plugin'
import { createTracing, type Tracing } from '../lib/observability/tracing.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** undefined when tracing is off. */
    tracing: Tracing | undefined
  }
}

export interface TracingPluginOptions {
  /** Where the OTEL_* variables are read; default process.env. */
  env?: Record<string, string | undefined>
}

export default fp<TracingPluginOptions>(
  async (app, opts) => {
    const tracing = createTracing(opts.env ?? process.env, {
      captureContent: app.config.gateway.observability?.tracing?.captureContent === true,
      onWarning: (message) => app.log.warn(message),
    })
    app.decorate('tracing', tracing)
    if (tracing) {
      app.log.info('tracing: spans exported over OTLP/HTTP')
      app.addHook('onClose', async () => {
        await tracing.shutdown().catch((err) => app.log.warn({ err }, 'tracing shutdown failed'))
      })
    }
  },
  { name: 'tracing', dependencies: ['config'] },
)
