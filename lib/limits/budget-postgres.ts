// Budgets shared through Postgres when there is no Redis.
//
// BudgetCounter holds the settled spend of a (scope, period); reserve runs in
// one transaction that creates the counter rows if needed, locks them with
// SELECT ... FOR UPDATE (in a fixed order, so two reservers never deadlock),
// sums the live reservations of those slots, and either inserts its own
// BudgetReservation rows or refuses. A concurrent reserver on the same budget
// waits on the row lock and then sees the committed reservations. Settling
// deletes the request's reservation rows and adds its cost in one transaction.
import type { Db } from '../storage/client.js'
import {
  BUDGET_EPSILON,
  dedupe,
  RESERVATION_TTL_MS,
  slotKey,
  spendSlots,
  type BudgetCheck,
  type BudgetStore,
  type Reservation,
  type ReserveResult,
  type Slot,
  type SlotState,
} from './budget.js'

const SEEDED_SCOPE = '_seeded'
const TX = { maxWait: 10_000, timeout: 15_000 }

type Tx = Pick<Db, '$queryRawUnsafe' | '$executeRawUnsafe'>

export class PostgresBudgetStore implements BudgetStore {
  readonly kind = 'postgres' as const
  private readonly counters: string
  private readonly reservations: string

  constructor(private readonly db: Db, schema?: string) {
    if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`)
    const q = (t: string) => (schema ? `"${schema}"."${t}"` : `"${t}"`)
    this.counters = q('BudgetCounter')
    this.reservations = q('BudgetReservation')
  }

  /** `("scope","period") IN (($1,$2),...)` and its parameters, from `first`. */
  private slotList(slots: Slot[], first = 1): { sql: string; params: string[] } {
    const params: string[] = []
    const tuples = slots.map((s) => {
      params.push(s.scope, s.period)
      return `($${first + params.length - 2},$${first + params.length - 1})`
    })
    return { sql: `("scope","period") IN (${tuples.join(',')})`, params }
  }

  private async ensureCounters(tx: Tx, slots: Slot[]): Promise<void> {
    const params: string[] = []
    const values = slots.map((s) => {
      params.push(s.scope, s.period)
      return `($${params.length - 1},$${params.length},0)`
    })
    await tx.$executeRawUnsafe(
      `INSERT INTO ${this.counters} ("scope","period","spentUsd") VALUES ${values.join(',')} ON CONFLICT ("scope","period") DO NOTHING`,
      ...params,
    )
  }

  async reserve(id: string, checks: BudgetCheck[], amountUsd: number, now: number): Promise<ReserveResult> {
    const slots = dedupe(checks).sort((a, b) => (slotKey(a) < slotKey(b) ? -1 : slotKey(a) > slotKey(b) ? 1 : 0))
    return this.db.$transaction(async (tx) => {
      await this.ensureCounters(tx, slots)
      const list = this.slotList(slots)
      const locked = await tx.$queryRawUnsafe<Array<{ scope: string; period: string; spentUsd: number }>>(
        `SELECT "scope","period","spentUsd" FROM ${this.counters} WHERE ${list.sql} ORDER BY "scope","period" FOR UPDATE`,
        ...list.params,
      )
      const expiredList = this.slotList(slots, 2)
      await tx.$executeRawUnsafe(`DELETE FROM ${this.reservations} WHERE "expiresAtMs" <= $1 AND ${expiredList.sql}`, now, ...expiredList.params)
      const sums = await tx.$queryRawUnsafe<Array<{ scope: string; period: string; reserved: number }>>(
        `SELECT "scope","period",SUM("amountUsd") AS "reserved" FROM ${this.reservations} WHERE ${list.sql} GROUP BY "scope","period"`,
        ...list.params,
      )
      const spent = new Map(locked.map((r) => [slotKey(r), Number(r.spentUsd)]))
      const reserved = new Map(sums.map((r) => [slotKey(r), Number(r.reserved)]))
      for (const c of checks) {
        const s = spent.get(slotKey(c)) ?? 0
        const r = reserved.get(slotKey(c)) ?? 0
        if (s + r + amountUsd > c.limitUsd + BUDGET_EPSILON) return { ok: false, check: c, spentUsd: s, reservedUsd: r, amountUsd } as const
      }
      const params: Array<string | number> = []
      const values = slots.map((s) => {
        params.push(`${id}|${s.scope}|${s.period}`, id, s.scope, s.period, amountUsd, now + RESERVATION_TTL_MS)
        const n = params.length
        return `($${n - 5},$${n - 4},$${n - 3},$${n - 2},$${n - 1},$${n})`
      })
      await tx.$executeRawUnsafe(
        `INSERT INTO ${this.reservations} ("id","reservationId","scope","period","amountUsd","expiresAtMs") VALUES ${values.join(',')} ON CONFLICT ("id") DO NOTHING`,
        ...params,
      )
      return { ok: true, reservation: { id, amountUsd, slots } } as const
    }, TX)
  }

  async release(reservation: Reservation): Promise<void> {
    await this.db.$executeRawUnsafe(`DELETE FROM ${this.reservations} WHERE "reservationId" = $1`, reservation.id)
  }

  async settle(reservation: Reservation | undefined, scopes: string[], costUsd: number, now: number): Promise<void> {
    // Same lock order as reserve(): no deadlock between the two.
    const slots = costUsd > 0 ? spendSlots(scopes, now).sort((a, b) => (slotKey(a) < slotKey(b) ? -1 : 1)) : []
    const params: Array<string | number> = []
    const values = slots.map((s) => {
      params.push(s.scope, s.period, costUsd)
      return `($${params.length - 2},$${params.length - 1},$${params.length})`
    })
    const spend = (tx: Tx) =>
      tx.$executeRawUnsafe(
        `INSERT INTO ${this.counters} ("scope","period","spentUsd") VALUES ${values.join(',')} ` +
          `ON CONFLICT ("scope","period") DO UPDATE SET "spentUsd" = ${this.counters}."spentUsd" + EXCLUDED."spentUsd"`,
        ...params,
      )
    if (!reservation) {
      if (slots.length > 0) await spend(this.db)
      return
    }
    // The reservation goes and the cost arrives together: never neither, never both.
    await this.db.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`DELETE FROM ${this.reservations} WHERE "reservationId" = $1`, reservation.id)
      if (slots.length > 0) await spend(tx)
    }, TX)
  }

  async state(slots: Slot[], now: number): Promise<SlotState[]> {
    if (slots.length === 0) return []
    const list = this.slotList(slots)
    const [spentRows, resvRows] = await Promise.all([
      this.db.$queryRawUnsafe<Array<{ scope: string; period: string; spentUsd: number }>>(
        `SELECT "scope","period","spentUsd" FROM ${this.counters} WHERE ${list.sql}`,
        ...list.params,
      ),
      this.db.$queryRawUnsafe<Array<{ scope: string; period: string; reserved: number }>>(
        `SELECT "scope","period",SUM("amountUsd") AS "reserved" FROM ${this.reservations} WHERE "expiresAtMs" > $${list.params.length + 1} AND ${list.sql} GROUP BY "scope","period"`,
        ...list.params,
        now,
      ),
    ])
    const spent = new Map(spentRows.map((r) => [slotKey(r), Number(r.spentUsd)]))
    const reserved = new Map(resvRows.map((r) => [slotKey(r), Number(r.reserved)]))
    return slots.map((s) => ({ ...s, spentUsd: spent.get(slotKey(s)) ?? 0, reservedUsd: reserved.get(slotKey(s)) ?? 0 }))
  }

  async seed(period: string, amounts: Map<string, number>): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      // The marker row: only the instance that inserts it loads the records.
      const marked = await tx.$executeRawUnsafe(
        `INSERT INTO ${this.counters} ("scope","period","spentUsd") VALUES ($1,$2,0) ON CONFLICT ("scope","period") DO NOTHING`,
        SEEDED_SCOPE,
        period,
      )
      if (marked !== 1) return false
      // Anything already counted for the period means the store is not empty.
      const existing = await tx.$queryRawUnsafe<Array<{ n: number }>>(
        `SELECT COUNT(*)::int AS "n" FROM ${this.counters} WHERE "period" = $1 AND "scope" <> $2 AND "spentUsd" <> 0`,
        period,
        SEEDED_SCOPE,
      )
      if (Number(existing[0]?.n ?? 0) > 0) return false
      for (const [scope, usd] of amounts) {
        if (!(usd > 0)) continue
        await tx.$executeRawUnsafe(
          `INSERT INTO ${this.counters} ("scope","period","spentUsd") VALUES ($1,$2,$3) ` +
            `ON CONFLICT ("scope","period") DO UPDATE SET "spentUsd" = ${this.counters}."spentUsd" + EXCLUDED."spentUsd"`,
          scope,
          period,
          usd,
        )
      }
      return true
    }, TX)
  }
}
