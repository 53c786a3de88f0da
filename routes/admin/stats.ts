// Read-only figures for the dashboard: gateway-wide traffic over the last
// hour or day (charts), spend today and this month, and per-deployment
// latency, in-flight counts and recent errors. Traffic comes from memory
// (app.traffic, this instance); spend from the usage records, cached a few
// seconds so a polling dashboard never hammers the database.
import { Type } from '@sinclair/typebox'
import { BUCKET_MS, type TrafficPoint } from '../../lib/stats/traffic.js'
import { startOfUtcDay, startOfUtcMonth } from '../../lib/limits/periods.js'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { adminSecurity } from './hooks.js'
import { adminErrorResponses } from './schemas.js'

export const SPEND_CACHE_MS = 5_000
/** Window of the per-deployment percentiles. */
export const DEPLOYMENT_WINDOW_MS = 15 * 60_000

const WINDOWS = {
  '1h': { windowMs: 3600_000, stepMs: BUCKET_MS },
  '24h': { windowMs: 24 * 3600_000, stepMs: 5 * BUCKET_MS },
} as const

const OverviewQuery = Type.Object({
  window: Type.Optional(Type.Union([Type.Literal('1h'), Type.Literal('24h')], { default: '1h', description: '1h (one-minute steps) or 24h (five-minute steps)' })),
})

const Ms = Type.Union([Type.Number(), Type.Null()])
const Column = (description: string) => Type.Array(Ms, { description })
const Figures = {
  requests: Type.Integer(),
  errors: Type.Integer({ description: 'Answered 4xx/5xx or not at all' }),
  errorRate: Type.Number(),
  rps: Type.Number({ description: 'Requests per second' }),
  p50Ms: Ms,
  p95Ms: Ms,
  ttftP50Ms: Ms,
  ttftP95Ms: Ms,
  promptTokens: Type.Integer(),
  completionTokens: Type.Integer(),
  costUsd: Type.Number(),
}

const Overview = Type.Object({
  window: Type.String(),
  stepSeconds: Type.Integer(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  series: Type.Object(
    {
      t: Type.Array(Type.Integer(), { description: 'Start of each step, Unix seconds' }),
      requests: Column('Requests per step'),
      rps: Column('Requests per second'),
      errorRate: Column('Errors / requests (0..1)'),
      p50Ms: Column('Median latency of successful requests'),
      p95Ms: Column('95th percentile latency'),
      ttftP50Ms: Column('Median time to first token (streams)'),
      ttftP95Ms: Column('95th percentile time to first token'),
      costUsd: Column('Spend per step'),
    },
    { description: 'Columns of equal length, one entry per step (the layout uPlot takes)' },
  ),
  totals: Type.Object({ ...Figures, p99Ms: Ms }),
  spend: Type.Object({
    todayUsd: Type.Number({ description: 'Since 00:00 UTC, every instance (usage records)' }),
    monthUsd: Type.Number({ description: 'Since the 1st, 00:00 UTC' }),
    asOf: Type.String({ format: 'date-time' }),
  }),
  inFlight: Type.Integer({ description: 'Upstream requests in flight on this instance' }),
})

const DeploymentStats = Type.Object({
  windowSeconds: Type.Integer(),
  data: Type.Array(
    Type.Object({
      id: Type.String(),
      model: Type.String(),
      provider: Type.String(),
      enabled: Type.Boolean(),
      inFlight: Type.Integer(),
      count: Type.Integer({ description: 'Attempts within the window' }),
      errors: Type.Integer(),
      errorRate: Type.Number(),
      p50Ms: Ms,
      p95Ms: Ms,
      p99Ms: Ms,
      ttftP50Ms: Ms,
      ttftP95Ms: Ms,
      emaMs: Ms,
      emaTtftMs: Ms,
    }),
  ),
  recentErrors: Type.Array(
    Type.Object({
      at: Type.String({ format: 'date-time' }),
      deploymentId: Type.String(),
      model: Type.String(),
      status: Type.Integer({ description: 'Upstream status; 0 when no answer arrived' }),
      reason: Type.String(),
    }),
    { description: 'Failed upstream attempts on this instance, newest first' },
  ),
})

interface Spend {
  todayUsd: number
  monthUsd: number
  asOf: string
}

const round = (v: number) => Math.round(v * 1e10) / 1e10
const column = (points: TrafficPoint[], pick: (p: TrafficPoint) => number | undefined) => points.map((p) => pick(p) ?? null)

const statsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const spendSince = async (from: Date) =>
    (await app.db.usageRecord.aggregate({ where: { createdAt: { gte: from } }, _sum: { costUsd: true } }))._sum.costUsd ?? 0
  let cached: { at: number; value: Promise<Spend> } | undefined
  // Many dashboards polling at once share one load per SPEND_CACHE_MS.
  const spend = (now: number): Promise<Spend> => {
    if (!cached || now - cached.at >= SPEND_CACHE_MS) {
      const value = (async () => {
        // What this instance still buffers counts too.
        await app.usage.flush()
        const [today, month] = await Promise.all([spendSince(startOfUtcDay(now)), spendSince(startOfUtcMonth(now))])
        return { todayUsd: round(today), monthUsd: round(month), asOf: new Date(now).toISOString() }
      })()
      cached = { at: now, value }
      value.catch(() => {
        if (cached?.value === value) cached = undefined
      })
    }
    return cached.value
  }

  app.get('/stats/overview', {
    schema: {
      tags: ['Admin'],
      summary: 'Traffic over the last hour or day (requests, errors, latency and TTFT percentiles, tokens, cost) and spend today and this month',
      security: adminSecurity,
      querystring: OverviewQuery,
      response: { 200: Overview, ...adminErrorResponses },
    },
  }, async (request) => {
    const window = request.query.window ?? '1h'
    const now = Date.now()
    const s = app.traffic.series({ now, ...WINDOWS[window] })
    // Figures with no sample are null in the answer (the schema's Ms).
    const nullable = <T extends object>(o: T) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v ?? null])) as { [K in keyof T]-?: undefined extends T[K] ? Exclude<T[K], undefined> | null : T[K] }
    return {
      window,
      stepSeconds: s.stepMs / 1000,
      from: new Date(s.from).toISOString(),
      to: new Date(s.to).toISOString(),
      series: {
        t: s.points.map((p) => p.t / 1000),
        requests: column(s.points, (p) => p.requests),
        rps: column(s.points, (p) => p.rps),
        errorRate: column(s.points, (p) => p.errorRate),
        p50Ms: column(s.points, (p) => p.p50Ms),
        p95Ms: column(s.points, (p) => p.p95Ms),
        ttftP50Ms: column(s.points, (p) => p.ttftP50Ms),
        ttftP95Ms: column(s.points, (p) => p.ttftP95Ms),
        costUsd: column(s.points, (p) => p.costUsd),
      },
      totals: nullable(s.totals),
      spend: await spend(now),
      inFlight: app.latency.inflight.total(),
    }
  })

  app.get('/stats/deployments', {
    schema: {
      tags: ['Admin'],
      summary: 'Per deployment: in-flight requests, attempts, errors and latency percentiles over the last 15 minutes; recent failed attempts',
      security: adminSecurity,
      response: { 200: DeploymentStats, ...adminErrorResponses },
    },
  }, async () => {
    const now = Date.now()
    const snap = new Map(app.latency.tracker.snapshot({ windowMs: DEPLOYMENT_WINDOW_MS, now }).map((s) => [s.deploymentId, s]))
    const data = [...app.modelRouting.table.deployments.values()].map((d) => {
      const s = snap.get(d.id)
      return {
        id: d.id,
        model: d.model,
        provider: d.provider,
        enabled: d.enabled,
        inFlight: app.latency.inflight.get(d.id),
        count: s?.count ?? 0,
        errors: s?.errors ?? 0,
        errorRate: s?.errorRate ?? 0,
        p50Ms: s?.total.p50 ?? null,
        p95Ms: s?.total.p95 ?? null,
        p99Ms: s?.total.p99 ?? null,
        ttftP50Ms: s?.ttft.p50 ?? null,
        ttftP95Ms: s?.ttft.p95 ?? null,
        emaMs: s?.emaMs ?? null,
        emaTtftMs: s?.emaTtftMs ?? null,
      }
    })
    const recentErrors = app.traffic.recentErrors(50).map((e) => ({ ...e, at: new Date(e.at).toISOString() }))
    return { windowSeconds: DEPLOYMENT_WINDOW_MS / 1000, data, recentErrors }
  })
}

export default statsRoutes
