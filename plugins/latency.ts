// Latency statistics: every upstream attempt is recorded in memory (EMA,
// windows for percentiles, in-flight counts) and flushed to the database in
// batches, so the request path never waits on a write.
import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import { DEFAULT_MAX_DEPLOYMENTS, LatencyTracker } from '../lib/stats/latency-tracker.js'
import { InFlightCounter } from '../lib/stats/inflight.js'
import { downsample } from '../lib/stats/downsample.js'

export const LATENCY_FLUSH_INTERVAL_MS = 2_000
/**
 * Raw samples written per flush, chosen uniformly when there are more. The
 * aggregates (counts, errors, EMAs) always include every sample, and the
 * percentiles are served from memory; the stored raw rows are a sample for
 * later analysis, bounded so a busy gateway does not write a row per call.
 */
export const LATENCY_SAMPLES_PER_FLUSH = 500

/** Deployments whose statistics are kept in memory (least recently used forgotten first). */
export const MAX_TRACKED_DEPLOYMENTS = DEFAULT_MAX_DEPLOYMENTS

/** Raw samples older than this are pruned from the database. */
export const LATENCY_SAMPLE_RETENTION_MS = 7 * 24 * 3600_000

declare module 'fastify' {
  interface FastifyInstance {
    latency: {
      tracker: LatencyTracker
      inflight: InFlightCounter
      flush(): Promise<void>
    }
  }
}

export default fp(
  async (app) => {
    const tracker = new LatencyTracker({ maxDeployments: MAX_TRACKED_DEPLOYMENTS })
    const inflight = new InFlightCounter()
    // The most recent ones: the tracker keeps no more than that many anyway.
    const aggregates = await app.db.latencyAggregate.findMany({ orderBy: { lastSampleAt: 'desc' }, take: MAX_TRACKED_DEPLOYMENTS })
    tracker.load(
      aggregates.map((a) => ({
        deploymentId: a.deploymentId,
        count: a.count,
        errors: a.errors,
        emaMs: a.emaMs ?? undefined,
        emaTtftMs: a.emaTtftMs ?? undefined,
        meanCompletionTokens: a.meanCompletionTokens ?? undefined,
        lastSampleAt: a.lastSampleAt?.getTime(),
      })),
    )

    let lastPrune = 0
    let flushing: Promise<void> | undefined
    const write = async () => {
      const drained = tracker.drain()
      if (drained.length) {
        const samples = downsample(drained, LATENCY_SAMPLES_PER_FLUSH)
        await app.writer.insert(
          'LatencySample',
          samples.map((s) => ({
            id: randomUUID(),
            deploymentId: s.deploymentId,
            model: s.model,
            stream: s.stream,
            status: s.status,
            ok: s.ok,
            totalMs: s.totalMs,
            ttftMs: s.ttftMs ?? null,
            promptTokens: s.promptTokens ?? null,
            completionTokens: s.completionTokens ?? null,
            createdAt: new Date(s.at),
          })),
        )
        const touched = new Set(drained.map((s) => s.deploymentId))
        await app.writer.upsertLatencyAggregates(
          tracker
            .aggregates()
            .filter((a) => touched.has(a.deploymentId))
            .map((a) => ({
              deploymentId: a.deploymentId,
              count: a.count,
              errors: a.errors,
              emaMs: a.emaMs ?? null,
              emaTtftMs: a.emaTtftMs ?? null,
              meanCompletionTokens: a.meanCompletionTokens ?? null,
              lastSampleAt: a.lastSampleAt ? new Date(a.lastSampleAt).toISOString() : null,
            })),
        )
      }
      if (Date.now() - lastPrune > 3600_000) {
        lastPrune = Date.now()
        await app.writer.deleteLatencySamplesBefore(new Date(Date.now() - LATENCY_SAMPLE_RETENTION_MS))
      }
    }
    const flush = async () => {
      if (!flushing) {
        flushing = write()
          .catch((err) => app.log.error({ err }, 'latency flush failed'))
          .finally(() => {
            flushing = undefined
          })
      }
      return flushing
    }
    const timer = setInterval(() => void flush(), LATENCY_FLUSH_INTERVAL_MS)
    timer.unref()
    app.addHook('onClose', async () => {
      clearInterval(timer)
      await flush()
    })
    app.decorate('latency', { tracker, inflight, flush })
  },
  { name: 'latency', dependencies: ['prisma', 'writer'] },
)
