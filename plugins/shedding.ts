// Load shedding with @fastify/under-pressure: while the event loop keeps
// lagging (or the heap is past a limit), new requests get 503 + retry-after
// instead of all stalling, in OpenAI's error shape (code "overloaded") so SDKs
// back off and retry. Health endpoints are never shed: a lagging instance must
// still answer its probes.
//
// Event-loop lag is measured here and fed to under-pressure as its health
// check: the check runs on a timer every sampleIntervalMs, and how late that
// timer fires is the event-loop delay at that moment. Only sustained lag
// sheds: DEFAULT_CONSECUTIVE_SAMPLES (3) late checks in a row, each later than
// the limit. A single long pause (the tokenizer loading on the first request,
// a big JSON parse, a GC) does not shed, and the first punctual check ends it.
//
// Defaults (YAML limits.shedding): maxEventLoopDelayMs 1000 (0 disables),
// maxHeapUsedBytes off, retryAfterSec 10, sampleIntervalMs 1000.
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import { errors } from '../lib/errors.js'
import { SustainedPressure } from '../lib/limits/shedding.js'

export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 1000
export const DEFAULT_SHED_RETRY_AFTER_SEC = 10
export const DEFAULT_SHED_SAMPLE_INTERVAL_MS = 1000

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Health probes and metrics scrapes are answered however loaded the gateway is. */
    neverShed?: boolean
  }
}

export default fp(
  async (app) => {
    const cfg = app.config.gateway.limits?.shedding ?? {}
    const retryAfter = cfg.retryAfterSec ?? DEFAULT_SHED_RETRY_AFTER_SEC
    const interval = cfg.sampleIntervalMs ?? DEFAULT_SHED_SAMPLE_INTERVAL_MS
    const maxDelay = cfg.maxEventLoopDelayMs ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS

    const pressure = new SustainedPressure(maxDelay)
    let lastCheck = performance.now()

    await app.register(underPressure, {
      maxHeapUsedBytes: cfg.maxHeapUsedBytes ?? 0,
      sampleInterval: interval,
      retryAfter,
      exposeStatusRoute: false,
      ...(maxDelay > 0
        ? {
            healthCheckInterval: interval,
            healthCheck: async () => {
              const now = performance.now()
              // under-pressure schedules the next check `interval` after this one ends.
              const delay = Math.max(0, now - lastCheck - interval)
              lastCheck = now
              const lagging = pressure.observe(delay)
              if (lagging) app.log.warn({ eventLoopDelayMs: Math.round(delay) }, 'event loop lagging: shedding load')
              return !lagging
            },
          }
        : {}),
      pressureHandler: (request, reply, type, value) => {
        if (request.routeOptions.config?.neverShed) return undefined
        request.log.warn({ type, value }, 'load shedding: request refused')
        if (app.hasDecorator('metrics')) app.metrics.onShed()
        reply.code(503).header('retry-after', String(retryAfter))
        // OpenAI's error shape, as on /v1 and /admin (whose 503 schemas expect it).
        return errors.overloaded(retryAfter).toJSON() as never
      },
    })
  },
  { name: 'shedding', dependencies: ['config'] },
)
