// Counters over fixed one-minute windows (aligned on the clock minute), for
// tokens per minute per key and requests/tokens per minute per deployment.
// In memory for one instance, or in Redis (INCRBY on a per-minute key that
// expires) so every instance adds to and reads the same numbers.
import type { Redis } from 'ioredis'
import { minuteWindow } from './periods.js'

export interface WindowCounter {
  /** Adds `n` in the current window; resolves to the window's new total. */
  add(key: string, n: number, now: number): Promise<number>
  /** Totals of the current window, in the order of `keys`. */
  get(keys: string[], now: number): Promise<number[]>
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

export class RedisWindowCounter implements WindowCounter {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private key(key: string, now: number): string {
    return `${this.prefix}${key}:${minuteWindow(now)}`
  }

  async add(key: string, n: number, now: number): Promise<number> {
    const k = this.key(key, now)
    const res = await this.redis.multi().incrby(k, Math.round(n)).expire(k, REDIS_WINDOW_TTL_SEC).exec()
    return Number(res?.[0]?.[1] ?? 0)
  }

  async get(keys: string[], now: number): Promise<number[]> {
    if (keys.length === 0) return []
    const values = await this.redis.mget(...keys.map((k) => this.key(k, now)))
    return values.map((v) => Number(v ?? 0) || 0)
  }
}
