// Counters over fixed one-minute windows (aligned on the clock minute), for
// tokens per minute per key and requests/tokens per minute per deployment.
// In memory for one instance, or in Redis (INCRBY on a per-minute key that
// expires) so every instance adds to and reads the same numbers. reserve()
// checks and adds in one step (synchronously in memory, a Lua script in
// Redis), so concurrent requests cannot all pass against the same room.
import type { Redis } from 'ioredis'
import { minuteWindow } from './periods.js'

export interface WindowCounter {
  /** Adds `n` in the current window; resolves to the window's new total. */
  add(key: string, n: number, now: number): Promise<number>
  /** Totals of the current window, in the order of `keys`. */
  get(keys: string[], now: number): Promise<number[]>
  /**
   * Atomically: when total + n <= limit, adds n. Resolves with whether it
   * did and the total after (admitted) or as found (refused).
   */
  reserve(key: string, n: number, limit: number, now: number): Promise<{ ok: boolean; total: number }>
}

const MAX_MEMORY_KEYS = 100_000

export class MemoryWindowCounter implements WindowCounter {
  private readonly counts = new Map<string, { window: number; n: number }>()

  async add(key: string, n: number, now: number): Promise<number> {
    return this.addSync(key, n, now)
  }

  addSync(key: string, n: number, now: number): number {
    const window = minuteWindow(now)
    const cur = this.counts.get(key)
    if (cur && cur.window === window) {
      cur.n += n
      return cur.n
    }
    if (this.counts.size >= MAX_MEMORY_KEYS) this.prune(window)
    this.counts.set(key, { window, n })
    return n
  }

  async get(keys: string[], now: number): Promise<number[]> {
    return keys.map((k) => this.getSync(k, now))
  }

  async reserve(key: string, n: number, limit: number, now: number): Promise<{ ok: boolean; total: number }> {
    // No await between the check and the add.
    const total = this.getSync(key, now)
    if (total + n > limit) return { ok: false, total }
    return { ok: true, total: this.addSync(key, n, now) }
  }

  getSync(key: string, now: number): number {
    const cur = this.counts.get(key)
    return cur && cur.window === minuteWindow(now) ? cur.n : 0
  }

  private prune(window: number): void {
    for (const [k, v] of this.counts) if (v.window !== window) this.counts.delete(k)
  }
}

/** Keys live two minutes: the current window and a margin for clock skew. */
const REDIS_WINDOW_TTL_SEC = 120

// KEYS[1]: the window key; ARGV: n, limit, ttl. Returns {1, total after} or {0, total found}.
const RESERVE = `
local total = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local n = tonumber(ARGV[1])
if total + n > tonumber(ARGV[2]) then return {0, total} end
total = redis.call('INCRBY', KEYS[1], n)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, total}
`

type CounterRedis = Redis & { switchyardWindowReserve(key: string, n: number, limit: number, ttl: number): Promise<[number, number]> }

export class RedisWindowCounter implements WindowCounter {
  private readonly redis: CounterRedis

  constructor(redis: Redis, private readonly prefix: string) {
    this.redis = redis as CounterRedis
    if (!(this.redis as unknown as Record<string, unknown>).switchyardWindowReserve) {
      redis.defineCommand('switchyardWindowReserve', { numberOfKeys: 1, lua: RESERVE })
    }
  }

  private key(key: string, now: number): string {
    return `${this.prefix}${key}:${minuteWindow(now)}`
  }

  async add(key: string, n: number, now: number): Promise<number> {
    const k = this.key(key, now)
    const res = await this.redis.multi().incrby(k, Math.round(n)).expire(k, REDIS_WINDOW_TTL_SEC).exec()
    return Number(res?.[0]?.[1] ?? 0)
  }

  async reserve(key: string, n: number, limit: number, now: number): Promise<{ ok: boolean; total: number }> {
    const [ok, total] = await this.redis.switchyardWindowReserve(this.key(key, now), Math.round(n), limit, REDIS_WINDOW_TTL_SEC)
    return { ok: Number(ok) === 1, total: Number(total) || 0 }
  }

  async get(keys: string[], now: number): Promise<number[]> {
    if (keys.length === 0) return []
    const values = await this.redis.mget(...keys.map((k) => this.key(k, now)))
    return values.map((v) => Number(v ?? 0) || 0)
  }
}
