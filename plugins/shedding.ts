// Load shedding with @fastify/under-pressure: while the event loop keeps
// lagging (or the heap is past a limit), new requests get 503 + retry-after
// instead of all stalling, in OpenAI's error shape (code "overloaded") so SDKs
// back off and retry. Health endpoints are never shed: a lagging instance must
// still answer its probes.
//
// Event-loop lag is measured here and fed to under-pressure as its health
// check, so that only sustained lag sheds: the median event-loop delay of each
// sample interval must exceed the limit DEFAULT_CONSECUTIVE_SAMPLES (2)
// intervals in a row. A single long pause (the tokenizer loading on the first
// request, a big JSON parse, a GC) does not shed, and as soon as the loop is
// responsive again (median of the current interval under the limit) requests
// pass, without waiting for the next sample.
//
// Defaults (YAML limits.shedding): maxEventLoopDelayMs 1000 (0 disables),
// maxHeapUsedBytes off, retryAfterSec 10, sampleIntervalMs 1000.
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { errors } from '../lib/errors.js'
import { SustainedPressure } from '../lib/limits/shedding.js'

export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 1000
export const DEFAULT_SHED_RETRY_AFTER_SEC = 10
export const DEFAULT_SHED_SAMPLE_INTERVAL_MS = 1000
const RESOLUTION_MS = 10
/** Samples of the current interval needed to call the lag over before the next check. */
const MIN_RECOVERY_SAMPLES = 3

const isHealth = (url: string) => url === '/health' || url.startsWith('/health/') || url.startsWith('/health?')

export default fp(
  async (app) => {
    const cfg = app.config.gateway.limits?.shedding ?? {}
    const retryAfter = cfg.retryAfterSec ?? DEFAULT_SHED_RETRY_AFTER_SEC
    const interval = cfg.sampleIntervalMs ?? DEFAULT_SHED_SAMPLE_INTERVAL_MS
    const maxDelay = cfg.maxEventLoopDelayMs ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS

    const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
    /** Median event-loop delay (ms) since the last sample; 0 without samples. */
    const medianDelayMs = () => (histogram.count > 0 ? Math.max(0, histogram.percentile(50) / 1e6 - RESOLUTION_MS) : 0)
    const pressure = new SustainedPressure(maxDelay)
    if (maxDelay > 0) histogram.enable()
    app.addHook('onClose', async () => histogram.disable())

    await app.register(underPressure, {
      maxHeapUsedBytes: cfg.maxHeapUsedBytes ?? 0,
      sampleInterval: interval,
      retryAfter,
      exposeStatusRoute: false,
      ...(maxDelay > 0
        ? {
            healthCheckInterval: interval,
            healthCheck: async () => {
              const delay = medianDelayMs()
              histogram.reset()
              const lagging = pressure.observe(delay)
              if (lagging) app.log.warn({ eventLoopDelayMs: Math.round(delay) }, 'event loop lagging: shedding load')
              return !lagging
            },
          }
        : {}),
      pressureHandler: (request, reply, type, value) => {
        if (isHealth(request.url)) return undefined
        // Lag that has already ended: the loop turns quickly again.
        if (type === 'healthCheck' && histogram.count >= MIN_RECOVERY_SAMPLES && medianDelayMs() <= maxDelay) return undefined
        request.log.warn({ type, value }, 'load shedding: request refused')
        reply.code(503).header('retry-after', String(retryAfter))
        // OpenAI's error shape, as on /v1 and /admin (whose 503 schemas expect it).
        return errors.overloaded(retryAfter).toJSON() as never
      },
    })
  },
  { name: 'shedding', dependencies: ['config'] },
)
