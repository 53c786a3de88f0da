// Spend and tokens from the usage records, grouped by key, model, deployment
// and/or UTC day, plus the current state of every budget. The figures are the
// records' own (the same the x-switchyard-cost-usd header and the stream's
// switchyard.cost_usd reported); the part the gateway had to estimate, for
// requests whose upstream usage never arrived, is shown apart as well.
import { Type } from '@sinclair/typebox'
import { adminErrors as errs } from '../../lib/admin/errors.js'
import { startOfUtcDay, startOfUtcMonth } from '../../lib/limits/periods.js'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { adminSecurity } from './hooks.js'
import { adminErrorResponses } from './schemas.js'

export const USAGE_GROUPS = ['key', 'model', 'deployment', 'endpoint', 'day'] as const
type Group = (typeof USAGE_GROUPS)[number]
const COLUMN = { key: 'keyId', model: 'model', deployment: 'deploymentId', endpoint: 'endpoint' } as const
/** Grouping by day runs one query per day: at most this many. */
export const MAX_USAGE_DAYS = 366
const DAY_MS = 86_400_000

const DateParam = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}(T.*)?$', description: 'YYYY-MM-DD (a whole UTC day) or an ISO date-time' })
const Query = Type.Object({
  groupBy: Type.Optional(Type.String({ pattern: '^(key|model|deployment|endpoint|day)(,(key|model|deployment|endpoint|day))*$', description: 'Comma-separated: key, model, deployment, endpoint (chat, embeddings, messages, responses, completions), day. Default key.' })),
  from: Type.Optional(Type.Intersect([DateParam], { description: 'Inclusive; default the start of the current UTC month' })),
  to: Type.Optional(Type.Intersect([DateParam], { description: 'Exclusive date-time, or a date whose whole day is included; default now' })),
})

const Sums = {
  requests: Type.Integer(),
  promptTokens: Type.Integer(),
  completionTokens: Type.Integer(),
  totalTokens: Type.Integer(),
  costUsd: Type.Number(),
  estimatedRequests: Type.Integer({ description: 'Requests whose usage the gateway estimated (no upstream usage arrived)' }),
  estimatedCostUsd: Type.Number({ description: 'Part of costUsd from those estimates' }),
}
const Nullable = Type.Union([Type.String(), Type.Null()])
const Row = Type.Object({
  key: Type.Optional(Nullable),
  keyName: Type.Optional(Nullable),
  model: Type.Optional(Type.String()),
  deployment: Type.Optional(Nullable),
  endpoint: Type.Optional(Type.String()),
  day: Type.Optional(Type.String()),
  ...Sums,
})
const Budget = Type.Object({
  scope: Type.Union([Type.Literal('key'), Type.Literal('tenant')]),
  id: Type.String(),
  name: Type.String(),
  window: Type.Union([Type.Literal('daily'), Type.Literal('monthly')]),
  period: Type.String({ description: 'd:YYYY-MM-DD or m:YYYY-MM (UTC)' }),
  limitUsd: Type.Number(),
  spentUsd: Type.Number(),
  reservedUsd: Type.Number({ description: 'Estimated cost held by requests in flight' }),
})
const Report = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  groupBy: Type.Array(Type.String()),
  data: Type.Array(Row),
  totals: Type.Object(Sums),
  budgets: Type.Array(Budget),
})

function parseDate(s: string, end: boolean): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(s)
  const d = new Date(dateOnly ? `${s}T00:00:00.000Z` : s)
  if (Number.isNaN(d.getTime())) throw errs.invalid(`Invalid date "${s}".`, end ? 'to' : 'from')
  return dateOnly && end ? new Date(d.getTime() + DAY_MS) : d
}

interface Agg {
  _count: { _all: number }
  _sum: { promptTokens: number | null; completionTokens: number | null; costUsd: number | null }
}

const usageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/usage', {
    schema: {
      tags: ['Admin'],
      summary: 'Spend and tokens grouped by key, model, deployment and/or day, and the state of every budget',
      security: adminSecurity,
      querystring: Query,
      response: { 200: Report, ...adminErrorResponses },
    },
  }, async (request) => {
    const q = request.query
    const groups = [...new Set((q.groupBy ?? 'key').split(','))] as Group[]
    const now = new Date()
    const from = q.from ? parseDate(q.from, false) : startOfUtcMonth(now)
    const to = q.to ? parseDate(q.to, true) : new Date(now.getTime() + 1)
    if (to <= from) throw errs.invalid('"to" must be after "from".', 'to')
    const byDay = groups.includes('day')
    if (byDay && (to.getTime() - startOfUtcDay(from).getTime()) / DAY_MS > MAX_USAGE_DAYS) {
      throw errs.invalid(`Grouping by day covers at most ${MAX_USAGE_DAYS} days.`, 'from')
    }

    // Records still buffered in this instance count too.
    await app.usage.flush()
    const by = groups.filter((g): g is Exclude<Group, 'day'> => g !== 'day').map((g) => COLUMN[g])
    const windows: Array<{ day?: string; gte: Date; lt: Date }> = []
    if (byDay) {
      for (let start = startOfUtcDay(from).getTime(); start < to.getTime(); start += DAY_MS) {
        windows.push({ day: new Date(start).toISOString().slice(0, 10), gte: new Date(Math.max(start, from.getTime())), lt: new Date(Math.min(start + DAY_MS, to.getTime())) })
      }
    } else windows.push({ gte: from, lt: to })

    const _sum = { promptTokens: true, completionTokens: true, costUsd: true } as const
    const rows: Array<Record<string, unknown> & Agg & { estimated?: Agg }> = []
    const sortKey = (g: Record<string, unknown>) => by.map((c) => String(g[c] ?? '')).join('\u0000')
    for (const w of windows) {
      const where = { createdAt: { gte: w.gte, lt: w.lt } }
      const estimates = { ...where, usageSource: 'estimate' }
      if (by.length === 0) {
        const [a, e] = await Promise.all([
          app.db.usageRecord.aggregate({ where, _count: { _all: true }, _sum }),
          app.db.usageRecord.aggregate({ where: estimates, _count: { _all: true }, _sum }),
        ])
        if (a._count._all > 0) rows.push({ ...a, estimated: e, day: w.day })
      } else {
        const [grouped, est] = (await Promise.all([
          app.db.usageRecord.groupBy({ by, where, _count: { _all: true }, _sum }),
          app.db.usageRecord.groupBy({ by, where: estimates, _count: { _all: true }, _sum }),
        ])) as unknown as Array<Array<Record<string, unknown> & Agg>>
        const estimatedBy = new Map(est!.map((g) => [sortKey(g), g]))
        grouped!.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0))
        for (const g of grouped!) rows.push({ ...g, estimated: estimatedBy.get(sortKey(g)), day: w.day })
      }
    }

    const keyIds = groups.includes('key') ? [...new Set(rows.map((r) => r.keyId).filter((k): k is string => typeof k === 'string'))] : []
    const names = new Map((keyIds.length ? await app.db.apiKey.findMany({ where: { id: { in: keyIds } }, select: { id: true, name: true } }) : []).map((k) => [k.id, k.name]))
    const totals = { requests: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, estimatedRequests: 0, estimatedCostUsd: 0 }
    const data = rows.map((r) => {
      const prompt = r._sum.promptTokens ?? 0
      const completion = r._sum.completionTokens ?? 0
      const cost = r._sum.costUsd ?? 0
      const estimatedRequests = r.estimated?._count._all ?? 0
      const estimatedCost = r.estimated?._sum.costUsd ?? 0
      totals.requests += r._count._all
      totals.promptTokens += prompt
      totals.completionTokens += completion
      totals.totalTokens += prompt + completion
      totals.costUsd += cost
      totals.estimatedRequests += estimatedRequests
      totals.estimatedCostUsd += estimatedCost
      return {
        ...(groups.includes('key') ? { key: (r.keyId as string | null) ?? null, keyName: names.get(r.keyId as string) ?? (r.keyId ? null : 'master') } : {}),
        ...(groups.includes('model') ? { model: r.model as string } : {}),
        ...(groups.includes('deployment') ? { deployment: (r.deploymentId as string | null) ?? null } : {}),
        ...(groups.includes('endpoint') ? { endpoint: r.endpoint as string } : {}),
        ...(byDay ? { day: r.day as string } : {}),
        requests: r._count._all,
        promptTokens: prompt,
        completionTokens: completion,
        totalTokens: prompt + completion,
        costUsd: round(cost),
        estimatedRequests,
        estimatedCostUsd: round(estimatedCost),
      }
    })
    totals.costUsd = round(totals.costUsd)
    totals.estimatedCostUsd = round(totals.estimatedCostUsd)
    const budgets = (await app.budgets.report(now.getTime())).map((b) => ({ ...b, spentUsd: round(b.spentUsd), reservedUsd: round(b.reservedUsd) }))
    return { from: from.toISOString(), to: to.toISOString(), groupBy: groups, data, totals, budgets }
  })
}

/** Sums of float costs, rounded to 1e-10 like the recorded costs. */
const round = (v: number) => Math.round(v * 1e10) / 1e10

export default usageRoutes
