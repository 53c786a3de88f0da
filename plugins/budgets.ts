// Spend budgets per gateway key (budgetDailyUsd / budgetMonthlyUsd) and per
// tenant tag (YAML limits.tenants), per UTC day and month: the store and the
// report. Reserving and settling is a pipeline stage
// (lib/pipeline/stages/budget.ts, on lib/limits/budget.ts).
//
// Store: Redis when REDIS_URL is set; else Postgres (row locks) when
// DATABASE_URL is Postgres; else this process's memory (SQLite = one instance).
import fp from 'fastify-plugin'
import { MemoryBudgetStore, scopeId, type BudgetStore } from '../lib/limits/budget.js'
import type { TenantBudget } from '../lib/pipeline/stages/budget.js'
import { RedisBudgetStore } from '../lib/limits/budget-redis.js'
import { PostgresBudgetStore } from '../lib/limits/budget-postgres.js'
import { dayPeriod, monthPeriod, periodOf, startOfUtcDay, startOfUtcMonth, type BudgetWindow } from '../lib/limits/periods.js'
import { postgresSchema } from '../lib/storage/client.js'
import { redisKeyPrefix } from './redis.js'

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
      /** Budgets per tenant tag (YAML limits.tenants). */
      tenants: Record<string, TenantBudget>
      /** Runs a settlement in the background; failures are logged. */
      track(update: Promise<unknown>): void
      /** Current state of every configured budget (keys with a budget, tenants in the config). */
      report(now?: number): Promise<BudgetState[]>
      /** Waits for the settlements started so far (tests, shutdown). */
      idle(): Promise<void>
    }
  }
}

export default fp(
  async (app) => {
    const cfg = app.config.gateway.limits ?? {}
    const tenants = cfg.tenants ?? {}
    const store: BudgetStore = app.redis
      ? new RedisBudgetStore(app.redis, redisKeyPrefix(app.config.gateway))
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

    const pending = new Set<Promise<unknown>>()
    const track = (p: Promise<unknown>) => {
      const q = p.catch((err) => app.log.error({ err }, 'budget settlement failed')).finally(() => pending.delete(q))
      pending.add(q)
    }

    app.decorate('budgets', {
      store,
      tenants,
      track,
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
  { name: 'budgets', dependencies: ['config', 'prisma', 'redis'] },
)
