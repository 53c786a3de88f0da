// Spend budgets per gateway key and per tenant tag, per UTC day and month.
//
// A request is admitted in two steps:
//  1. reserve: atomically, for every budget that applies, check
//       spent + reserved + estimate <= limit
//     and, only if every budget passes, add the estimate to each budget's
//     reservations (one entry per request id). Otherwise nothing is reserved
//     and the request is refused (402).
//  2. settle, when the outcome is known: drop the reservation and add the
//     actual cost to the spend of the key and of its tenant (day and month).
//
// Because check and reserve are one atomic step, concurrent requests cannot
// all pass against the same remaining budget: each sees the others'
// reservations. A budget can be overrun only by requests whose actual cost
// is higher than their estimate, i.e. by at most the requests in flight when
// it was reached. Reservations expire (RESERVATION_TTL_MS) so an instance
// that dies mid-request does not hold budget forever.
//
// Stores: memory (one instance), Redis (Lua script), Postgres (row locks).
// This file holds the shared logic and the memory store.

import { dayPeriod, monthPeriod, periodOf, type BudgetWindow } from './periods.js'

/** A reservation older than this is ignored and purged (longer than any request may take). */
export const RESERVATION_TTL_MS = 15 * 60_000
/** Completion tokens assumed for the estimate when the request sets no max_tokens. */
export const DEFAULT_ESTIMATED_COMPLETION_TOKENS = 256
/** Float slack so an exact fit (e.g. 5 x $1.00 in $5.00) is not refused by rounding. */
export const BUDGET_EPSILON = 1e-9

export type ScopeKind = 'key' | 'tenant'

/** A key or tenant and its limits (null/undefined = no limit for that window). */
export interface BudgetScope {
  kind: ScopeKind
  id: string
  /** Shown in messages: the key's name or the tenant tag. */
  label: string
  dailyUsd?: number | null
  monthlyUsd?: number | null
}

/** One (scope, period) counter pair: spend and reservations. */
export interface Slot {
  scope: string
  period: string
}

export interface BudgetCheck extends Slot {
  kind: ScopeKind
  label: string
  window: BudgetWindow
  limitUsd: number
}

export interface Reservation {
  id: string
  amountUsd: number
  slots: Slot[]
}

export type ReserveResult =
  | { ok: true; reservation: Reservation }
  | { ok: false; check: BudgetCheck; spentUsd: number; reservedUsd: number; amountUsd: number }

export interface SlotState extends Slot {
  spentUsd: number
  reservedUsd: number
}

export interface BudgetStore {
  readonly kind: 'memory' | 'redis' | 'postgres'
  /** Atomically checks every budget and reserves `amountUsd` in all of them, or in none. */
  reserve(id: string, checks: BudgetCheck[], amountUsd: number, now: number): Promise<ReserveResult>
  /** Drops the reservation (when given, idempotent) and adds the actual cost to the scopes' current day and month. */
  settle(reservation: Reservation | undefined, scopes: string[], costUsd: number, now: number): Promise<void>
  /** Drops a reservation without spending (idempotent). */
  release(reservation: Reservation): Promise<void>
  state(slots: Slot[], now: number): Promise<SlotState[]>
  /**
   * Loads spend recorded before this start (from usage records) for one
   * period, only when the store holds nothing for that period yet. Returns
   * whether it loaded.
   */
  seed(period: string, amounts: Map<string, number>, now: number): Promise<boolean>
}

export const scopeId = (kind: ScopeKind, id: string): string => `${kind}:${id}`

/** The scopes a request's spend counts against: its key (not the master key) and its tenant. */
export function spendScopes(keyId: string | null | undefined, tenant: string | null | undefined): string[] {
  const out: string[] = []
  if (keyId) out.push(scopeId('key', keyId))
  if (tenant) out.push(scopeId('tenant', tenant))
  return out
}

/** The checks for the budgets that apply now. */
export function budgetChecks(scopes: BudgetScope[], now: number): BudgetCheck[] {
  const checks: BudgetCheck[] = []
  for (const s of scopes) {
    const scope = scopeId(s.kind, s.id)
    for (const [window, limit] of [['daily', s.dailyUsd], ['monthly', s.monthlyUsd]] as const) {
      if (typeof limit === 'number' && Number.isFinite(limit) && limit > 0) {
        checks.push({ scope, period: periodOf(window, now), kind: s.kind, label: s.label, window, limitUsd: limit })
      }
    }
  }
  return checks
}

/** The slots a settled cost is added to. */
export function spendSlots(scopes: string[], now: number): Slot[] {
  const day = dayPeriod(now)
  const month = monthPeriod(now)
  return scopes.flatMap((scope) => [{ scope, period: day }, { scope, period: month }])
}

/** Estimated USD cost before the call: prompt x input price + completion x output price (USD per 1M). */
export function estimateCostUsd(promptTokens: number, completionTokens: number, price: { input: number; output: number } | undefined): number {
  if (!price) return 0
  const p = Math.max(0, promptTokens) * Math.max(0, price.input) + Math.max(0, completionTokens) * Math.max(0, price.output)
  return p / 1e6
}

export function formatUsd(v: number): string {
  if (v === 0 || Math.abs(v) >= 0.01) return `$${v.toFixed(2)}`
  return `$${Number(v.toPrecision(2))}`
}

/** e.g. key "team-a" daily budget of $5.00 is spent ($5.01 used) */
export function budgetMessage(r: Extract<ReserveResult, { ok: false }>): string {
  const c = r.check
  const head = `${c.kind} "${c.label}" ${c.window} budget of ${formatUsd(c.limitUsd)}`
  if (r.spentUsd + BUDGET_EPSILON >= c.limitUsd) return `${head} is spent (${formatUsd(r.spentUsd)} used)`
  const inFlight = r.reservedUsd > 0 ? `, ${formatUsd(r.reservedUsd)} reserved by requests in flight` : ''
  return `${head} would be exceeded (${formatUsd(r.spentUsd)} used${inFlight}; this request may cost up to ${formatUsd(r.amountUsd)})`
}

export const slotKey = (s: Slot): string => `${s.scope}\u0000${s.period}`

/** Single-instance store: everything in this process. */
export class MemoryBudgetStore implements BudgetStore {
  readonly kind = 'memory' as const
  private readonly spent = new Map<string, number>()
  private readonly reserved = new Map<string, Map<string, { amount: number; expires: number }>>()
  private readonly seeded = new Set<string>()
  private lastDay = ''

  private reservedIn(key: string, now: number): number {
    const m = this.reserved.get(key)
    if (!m) return 0
    let sum = 0
    for (const [id, r] of m) {
      if (r.expires <= now) m.delete(id)
      else sum += r.amount
    }
    if (m.size === 0) this.reserved.delete(key)
    return sum
  }

  async reserve(id: string, checks: BudgetCheck[], amountUsd: number, now: number): Promise<ReserveResult> {
    // No await between the checks and the reservation: atomic in one process.
    for (const c of checks) {
      const key = slotKey(c)
      const spent = this.spent.get(key) ?? 0
      const reserved = this.reservedIn(key, now)
      if (spent + reserved + amountUsd > c.limitUsd + BUDGET_EPSILON) return { ok: false, check: c, spentUsd: spent, reservedUsd: reserved, amountUsd }
    }
    const slots = dedupe(checks)
    for (const s of slots) {
      const key = slotKey(s)
      let m = this.reserved.get(key)
      if (!m) this.reserved.set(key, (m = new Map()))
      m.set(id, { amount: amountUsd, expires: now + RESERVATION_TTL_MS })
    }
    return { ok: true, reservation: { id, amountUsd, slots } }
  }

  async release(reservation: Reservation): Promise<void> {
    for (const s of reservation.slots) {
      const key = slotKey(s)
      const m = this.reserved.get(key)
      if (!m) continue
      m.delete(reservation.id)
      if (m.size === 0) this.reserved.delete(key)
    }
  }

  async settle(reservation: Reservation | undefined, scopes: string[], costUsd: number, now: number): Promise<void> {
    if (reservation) await this.release(reservation)
    this.prune(now)
    if (!(costUsd > 0)) return
    for (const s of spendSlots(scopes, now)) {
      const key = slotKey(s)
      this.spent.set(key, (this.spent.get(key) ?? 0) + costUsd)
    }
  }

  async state(slots: Slot[], now: number): Promise<SlotState[]> {
    return slots.map((s) => ({ ...s, spentUsd: this.spent.get(slotKey(s)) ?? 0, reservedUsd: this.reservedIn(slotKey(s), now) }))
  }

  async seed(period: string, amounts: Map<string, number>): Promise<boolean> {
    if (this.seeded.has(period)) return false
    for (const key of this.spent.keys()) if (key.endsWith(`\u0000${period}`)) return false
    this.seeded.add(period)
    for (const [scope, usd] of amounts) {
      if (usd > 0) this.spent.set(slotKey({ scope, period }), usd)
    }
    return true
  }

  /** Forgets counters of past periods once a day. */
  private prune(now: number): void {
    const day = dayPeriod(now)
    if (day === this.lastDay) return
    this.lastDay = day
    const keep = new Set([day, monthPeriod(now)])
    for (const key of this.spent.keys()) if (!keep.has(key.slice(key.indexOf('\u0000') + 1))) this.spent.delete(key)
  }
}

export function dedupe(slots: Slot[]): Slot[] {
  const seen = new Map<string, Slot>()
  for (const s of slots) seen.set(slotKey(s), { scope: s.scope, period: s.period })
  return [...seen.values()]
}
