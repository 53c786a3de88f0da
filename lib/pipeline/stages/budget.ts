// Stage 3, third check: spend budgets per key and per tenant, per UTC day and
// month (lib/limits/budget.ts). The request's most expensive possible cost on
// its model (prompt + max_tokens or 256 completion tokens, at the highest
// price among the model's deployments, so no routing choice can overspend) is
// reserved atomically in every budget that applies; the outcome replaces it
// with the actual cost. Spend is recorded for every request of a key or
// tenant, with or without a budget, so a budget set later sees today's spend.
import { randomUUID } from 'node:crypto'
import { errors } from '../../errors.js'
import {
  budgetChecks,
  budgetMessage,
  DEFAULT_ESTIMATED_COMPLETION_TOKENS,
  estimateCostUsd,
  spendScopes,
  type BudgetScope,
  type BudgetStore,
  type Reservation as BudgetReservation,
} from '../../limits/budget.js'
import type { PriceEntry } from '../../cost/compute.js'
import type { KeyIdentity } from '../../keys/keys.js'
import type { DeploymentEntry, ModelEntry } from '../../routing/table.js'
import type { AdmissionStage } from '../types.js'

export interface TenantBudget {
  dailyUsd?: number
  monthlyUsd?: number
}

export interface BudgetDeps {
  store: BudgetStore
  tenants: Record<string, TenantBudget>
  priceOf(d: DeploymentEntry): PriceEntry | undefined
  track(update: Promise<unknown>): void
}

/** The budgets that apply to a key: its own, and its tenant's. */
export function budgetScopes(identity: KeyIdentity, tenants: Record<string, TenantBudget>): BudgetScope[] {
  const scopes: BudgetScope[] = []
  if (identity.id && (identity.budgetDailyUsd || identity.budgetMonthlyUsd)) {
    scopes.push({ kind: 'key', id: identity.id, label: identity.name, dailyUsd: identity.budgetDailyUsd, monthlyUsd: identity.budgetMonthlyUsd })
  }
  const tenant = identity.tenant ? tenants[identity.tenant] : undefined
  if (tenant) scopes.push({ kind: 'tenant', id: identity.tenant!, label: identity.tenant!, dailyUsd: tenant.dailyUsd, monthlyUsd: tenant.monthlyUsd })
  return scopes
}

/** The highest price among the model's enabled deployments (undefined when none is priced). */
export function highestPrice(model: ModelEntry, priceOf: BudgetDeps['priceOf']): PriceEntry | undefined {
  let top: PriceEntry | undefined
  for (const d of model.deployments) {
    if (!d.enabled) continue
    const p = priceOf(d)
    if (p && (!top || p.input + p.output > top.input + top.output)) top = p
  }
  return top
}

export function createBudgetStage(deps: BudgetDeps): AdmissionStage {
  return {
    name: 'budget',
    async admit(ctx) {
      const spend = spendScopes(ctx.identity.id, ctx.identity.tenant)
      if (spend.length === 0) return undefined
      const now = Date.now()
      const checks = budgetChecks(budgetScopes(ctx.identity, deps.tenants), now)
      let reservation: BudgetReservation | undefined
      if (checks.length > 0) {
        const completion = ctx.estimate.chat ? (ctx.estimate.maxOutputTokens ?? DEFAULT_ESTIMATED_COMPLETION_TOKENS) : 0
        const amount = estimateCostUsd(ctx.estimate.promptTokens(), completion, highestPrice(ctx.model, deps.priceOf))
        const result = await deps.store.reserve(randomUUID(), checks, amount, now)
        if (!result.ok) throw errors.budgetExceeded(budgetMessage(result))
        reservation = result.reservation
      }
      return {
        settle: (outcome) => {
          const cost = outcome.costUsd ?? 0
          if (reservation || cost > 0) deps.track(deps.store.settle(reservation, spend, cost, Date.now()))
        },
        release: () => {
          if (reservation) deps.track(deps.store.release(reservation))
        },
      }
    },
  }
}
