// Spend budgets per gateway key (budgetDailyUsd / budgetMonthlyUsd) and per
// tenant tag (YAML limits.tenants), per UTC day and month. Before a request
// is sent its estimated cost is reserved atomically; once the outcome is
// known the reservation is replaced by the actual cost (lib/limits/budget.ts).
//
// Store: Redis when REDIS_URL is set; else Postgres (row locks) when
// DATABASE_URL is Postgres; else this process's memory (SQLite = one instance).
import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import { errors } from '../lib/errors.js'
import {
  budgetChecks,
  budgetMessage,
  DEFAULT_ESTIMATED_COMPLETION_TOKENS,
  estimateCostUsd,
  MemoryBudgetStore,
  scopeId,
  spendScopes,
  type BudgetScope,
  type BudgetStore,
  type Reservation,
} from '../lib/limits/budget.js'
import { RedisBudgetStore } from '../lib/limits/budget-redis.js'
import { PostgresBudgetStore } from '../lib/limits/budget-postgres.js'
import { dayPeriod, monthPeriod, periodOf, startOfUtcDay, startOfUtcMonth, type BudgetWindow } from '../lib/limits/periods.js'
import { postgresSchema } from '../lib/storage/client.js'
import { DEFAULT_REDIS_KEY_PREFIX } from './limits.js'

export interface BudgetState {
  scope: 'key' | 'tenant'
  id: string
  name: string
  window: BudgetWindow
  period: string
  limitUsd: number
  spentUsd: number
  reservedUsd: number
}

declare module 'fastify' {
  interface FastifyInstance {
    budgets: {
      store: BudgetStore
      /** Current state of every configured budget (keys with a budget, tenants in the config). */
      report(now?: number): Promise<BudgetState[]>
      /** Waits for the settlements started so far (tests, shutdown). */
      idle(): Promise<void>
    }
  }
  interface FastifyRequest {
    /** Id of the budget reservation this request holds, if any. */
    budgetReservation: string | null
  }
}

export default fp(
  async (app) => {
    const cfg = app.config.gateway.limits ?? {}
    const tenants = cfg.tenants ?? {}
    const store: BudgetStore = app.redis
      ? new RedisBudgetStore(app.redis, cfg.redisKeyPrefix ?? DEFAULT_REDIS_KEY_PREFIX)
      : app.dbProvider === 'postgres'
        ? new PostgresBudgetStore(app.db, postgresSchema(app.config.env.DATABASE_URL))
        : new MemoryBudgetStore()

    // Spend recorded before this start, loaded only into an empty period.
    const now = Date.now()
    for (const [period, since] of [[dayPeriod(now), startOfUtcDay(now)], [monthPeriod(now), startOfUtcMonth(now)]] as const) {
      const where = { createdAt: { gte: since } }
      const [byKey, byTenant] = await Promise.all([
        app.db.usageRecord.groupBy({ by: ['keyId'], where: { ...where, keyId: { not: null } }, _sum: { costUsd: true } }),
        app.db.usageRecord.groupBy({ by: ['tenant'], where: { ...where, tenant: { not: null } }, _sum: { costUsd: true } }),
      ])
      const amounts = new Map<string, number>()
      for (const r of byKey) if (r.keyId) amounts.set(scopeId('key', r.keyId), r._sum.costUsd ?? 0)
      for (const r of byTenant) if (r.tenant) amounts.set(scopeId('tenant', r.tenant), r._sum.costUsd ?? 0)
      const loaded = await store.seed(period, amounts, now)
      if (loaded && amounts.size > 0) app.log.info({ period, scopes: amounts.size, store: store.kind }, 'budget spend loaded from usage records')
    }

    app.decorateRequest('budgetReservation', null)
    // Reservations made by this instance and not settled yet.
    const open = new Map<string, Reservation>()
    const pending = new Set<Promise<unknown>>()
    const track = (p: Promise<unknown>) => {
      const q = p.catch((err) => app.log.error({ err }, 'budget settlement failed')).finally(() => pending.delete(q))
      pending.add(q)
    }

    app.limits.checks.push(async (request, _reply, job, estimate) => {
      const identity = request.identity!
      const scopes: BudgetScope[] = []
      if (identity.id && (identity.budgetDailyUsd || identity.budgetMonthlyUsd)) {
        scopes.push({ kind: 'key', id: identity.id, label: identity.name, dailyUsd: identity.budgetDailyUsd, monthlyUsd: identity.budgetMonthlyUsd })
      }
      const tenant = identity.tenant ? tenants[identity.tenant] : undefined
      if (tenant) scopes.push({ kind: 'tenant', id: identity.tenant!, label: identity.tenant!, dailyUsd: tenant.dailyUsd, monthlyUsd: tenant.monthlyUsd })
      const t = Date.now()
      const checks = budgetChecks(scopes, t)
      if (checks.length === 0) return
      const completion = estimate.chat ? (estimate.maxOutputTokens ?? DEFAULT_ESTIMATED_COMPLETION_TOKENS) : 0
      const amount = estimateCostUsd(estimate.promptTokens(), completion, app.pricing.priceOf(estimate.deployment))
      const result = await store.reserve(randomUUID(), checks, amount, t)
      if (!result.ok) throw errors.budgetExceeded(budgetMessage(result))
      open.set(result.reservation.id, result.reservation)
      request.budgetReservation = result.reservation.id
      job.meta!.budgetReservation = result.reservation.id
    })

    // Settle: the outcome of every proxied request (success or failure).
    app.usage.listeners.push((record) => {
      const meta = record.meta ?? {}
      const id = meta.budgetReservation as string | undefined
      const reservation = id ? open.get(id) : undefined
      if (id) open.delete(id)
      const scopes = spendScopes(meta.keyId as string | null | undefined, meta.tenant as string | null | undefined)
      const cost = record.costUsd ?? 0
      if (!reservation && (scopes.length === 0 || !(cost > 0))) return
      track(store.settle(reservation, scopes, cost, Date.now()))
    })

    // A request that ends without an outcome record (refused after reserving,
    // or the client left before the stream started) gives its reservation back.
    app.addHook('onResponse', async (request) => {
      const id = request.budgetReservation
      const reservation = id ? open.get(id) : undefined
      if (!id || !reservation) return
      open.delete(id)
      track(store.release(reservation))
    })

    app.decorate('budgets', {
      store,
      async idle() {
        while (pending.size > 0) await Promise.all([...pending])
      },
      async report(at = Date.now()): Promise<BudgetState[]> {
        const keys = await app.db.apiKey.findMany({
          where: { revokedAt: null, OR: [{ budgetDailyUsd: { not: null } }, { budgetMonthlyUsd: { not: null } }] },
          orderBy: { createdAt: 'asc' },
        })
        const rows: Array<Omit<BudgetState, 'spentUsd' | 'reservedUsd'>> = []
        const add = (scope: 'key' | 'tenant', id: string, name: string, window: BudgetWindow, limit: number | null | undefined) => {
          if (typeof limit === 'number' && limit > 0) rows.push({ scope, id, name, window, period: periodOf(window, at), limitUsd: limit })
        }
        for (const k of keys) {
          add('key', k.id, k.name, 'daily', k.budgetDailyUsd)
          add('key', k.id, k.name, 'monthly', k.budgetMonthlyUsd)
        }
        for (const [name, b] of Object.entries(tenants)) {
          add('tenant', name, name, 'daily', b.dailyUsd)
          add('tenant', name, name, 'monthly', b.monthlyUsd)
        }
        const states = await store.state(rows.map((r) => ({ scope: scopeId(r.scope, r.id), period: r.period })), at)
        return rows.map((r, i) => ({ ...r, spentUsd: states[i]?.spentUsd ?? 0, reservedUsd: states[i]?.reservedUsd ?? 0 }))
      },
    })
    app.addHook('onClose', async () => {
      while (pending.size > 0) await Promise.all([...pending])
    })
  },
  { name: 'budgets', dependencies: ['limits', 'usage', 'cost-estimate', 'prisma', 'redis', 'auth'] },
)
