// Budgets shared by every instance through Redis.
//
// Per (scope, period):
//   <prefix>budget:spend:<scope>:<period>  float, INCRBYFLOAT'd by settle; expires after the period
//   <prefix>budget:resv:<scope>:<period>   hash: request id -> "<amountUsd>:<expiresAtMs>"
// The reserve script reads every spend and reservation hash involved, drops
// expired reservations, and either refuses or writes the reservation in all
// hashes: Redis runs a script atomically, so two instances can never both
// pass against the same remaining budget.
import type { Redis } from 'ioredis'
import {
  BUDGET_EPSILON,
  dedupe,
  RESERVATION_TTL_MS,
  spendSlots,
  type BudgetCheck,
  type BudgetStore,
  type Reservation,
  type ReserveResult,
  type Slot,
  type SlotState,
} from './budget.js'
import { windowOfPeriod } from './periods.js'

/** Spend counters outlive their period by a margin, then expire. */
const SPEND_TTL_SEC = { daily: 3 * 86_400, monthly: 40 * 86_400 } as const

// KEYS: spend_1, resv_1, ..., spend_n, resv_n
// ARGV: now, id, amount, ttlMs, epsilon, limit_1 .. limit_n
// Returns {1} or {0, index, spent, reserved} (floats as strings).
const RESERVE = `
local now = tonumber(ARGV[1])
local id = ARGV[2]
local amount = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local eps = tonumber(ARGV[5])
local n = #KEYS / 2
for i = 1, n do
  local spent = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0') or 0
  local reserved = 0
  local all = redis.call('HGETALL', KEYS[2 * i])
  for j = 1, #all, 2 do
    local v = all[j + 1]
    local sep = string.find(v, ':', 1, true)
    local amt = tonumber(string.sub(v, 1, sep - 1)) or 0
    local exp = tonumber(string.sub(v, sep + 1)) or 0
    if exp <= now then
      redis.call('HDEL', KEYS[2 * i], all[j])
    else
      reserved = reserved + amt
    end
  end
  local limit = tonumber(ARGV[5 + i])
  if spent + reserved + amount > limit + eps then
    return {0, i, tostring(spent), tostring(reserved)}
  end
end
for i = 1, n do
  redis.call('HSET', KEYS[2 * i], id, ARGV[3] .. ':' .. tostring(now + ttl))
  redis.call('PEXPIRE', KEYS[2 * i], ttl)
end
return {1}
`

// KEYS: marker, spend_1 .. spend_n; ARGV: markerTtlSec, ttlSec, amount_1 .. amount_n
const SEED = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[1])) == false then return 0 end
for i = 2, #KEYS do
  redis.call('INCRBYFLOAT', KEYS[i], ARGV[i + 1])
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[2]))
end
return 1
`

type BudgetRedis = Redis & {
  switchyardBudgetReserve(...args: Array<string | number>): Promise<[number, number?, string?, string?]>
  switchyardBudgetSeed(...args: Array<string | number>): Promise<number>
}

export class RedisBudgetStore implements BudgetStore {
  readonly kind = 'redis' as const
  private readonly redis: BudgetRedis

  constructor(redis: Redis, private readonly prefix = 'switchyard:') {
    this.redis = redis as BudgetRedis
    if (!(this.redis as unknown as Record<string, unknown>).switchyardBudgetReserve) {
      redis.defineCommand('switchyardBudgetReserve', { lua: RESERVE })
      redis.defineCommand('switchyardBudgetSeed', { lua: SEED })
    }
  }

  spendKey(s: Slot): string {
    return `${this.prefix}budget:spend:${s.scope}:${s.period}`
  }

  resvKey(s: Slot): string {
    return `${this.prefix}budget:resv:${s.scope}:${s.period}`
  }

  async reserve(id: string, checks: BudgetCheck[], amountUsd: number, now: number): Promise<ReserveResult> {
    const keys = checks.flatMap((c) => [this.spendKey(c), this.resvKey(c)])
    const args = [now, id, String(amountUsd), RESERVATION_TTL_MS, BUDGET_EPSILON, ...checks.map((c) => String(c.limitUsd))]
    const res = await this.redis.switchyardBudgetReserve(keys.length, ...keys, ...args)
    if (Number(res[0]) === 1) return { ok: true, reservation: { id, amountUsd, slots: dedupe(checks) } }
    const check = checks[Number(res[1]) - 1]!
    return { ok: false, check, spentUsd: Number(res[2]), reservedUsd: Number(res[3]), amountUsd }
  }

  async release(reservation: Reservation): Promise<void> {
    if (reservation.slots.length === 0) return
    const multi = this.redis.multi()
    for (const s of reservation.slots) multi.hdel(this.resvKey(s), reservation.id)
    await multi.exec()
  }

  async settle(reservation: Reservation | undefined, scopes: string[], costUsd: number, now: number): Promise<void> {
    const multi = this.redis.multi()
    for (const s of reservation?.slots ?? []) multi.hdel(this.resvKey(s), reservation!.id)
    if (costUsd > 0) {
      for (const s of spendSlots(scopes, now)) {
        multi.incrbyfloat(this.spendKey(s), costUsd)
        multi.expire(this.spendKey(s), SPEND_TTL_SEC[windowOfPeriod(s.period)])
      }
    }
    if (multi.length > 0) await multi.exec()
  }

  async state(slots: Slot[], now: number): Promise<SlotState[]> {
    if (slots.length === 0) return []
    const pipe = this.redis.pipeline()
    for (const s of slots) {
      pipe.get(this.spendKey(s))
      pipe.hgetall(this.resvKey(s))
    }
    const out = (await pipe.exec()) ?? []
    return slots.map((s, i) => {
      const spent = Number(out[2 * i]?.[1] ?? 0) || 0
      const hash = (out[2 * i + 1]?.[1] ?? {}) as Record<string, string>
      let reserved = 0
      for (const v of Object.values(hash)) {
        const [amt, exp] = v.split(':')
        if (Number(exp) > now) reserved += Number(amt) || 0
      }
      return { ...s, spentUsd: spent, reservedUsd: reserved }
    })
  }

  async seed(period: string, amounts: Map<string, number>): Promise<boolean> {
    const ttl = SPEND_TTL_SEC[windowOfPeriod(period)]
    const entries = [...amounts].filter(([, usd]) => usd > 0)
    const keys = [`${this.prefix}budget:seeded:${period}`, ...entries.map(([scope]) => this.spendKey({ scope, period }))]
    const res = await this.redis.switchyardBudgetSeed(keys.length, ...keys, ttl, ttl, ...entries.map(([, usd]) => String(usd)))
    return Number(res) === 1
  }
}
