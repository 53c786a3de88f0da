// Failed key checks per client address, so nobody can guess keys at the
// gateway's full speed. After `limit` missing or invalid keys from one address
// within `windowMs`, that address is refused (429) until the window started by
// its first failure ends, without its key being checked. Successes are not
// counted and never slowed.
//
// In memory, per instance: a bounded map, since clients choose their
// addresses. IPv6 clients are counted per /64 (one subscriber usually holds a
// whole /64), IPv4-mapped IPv6 as the IPv4 address.
import ipaddr from 'ipaddr.js'

export interface AuthFailureOptions {
  /** Failures allowed per window; 0 disables the limit. */
  limit: number
  windowMs?: number
  /** Most addresses tracked at once; the oldest entry goes first beyond it. */
  maxEntries?: number
  now?: () => number
}

interface Entry {
  start: number
  count: number
}

/** The bucket an address is counted in: IPv4 as is, IPv6 by its /64. */
export function addressBucket(address: string | undefined): string {
  if (!address) return 'unknown'
  try {
    const ip = ipaddr.process(address)
    if (ip.kind() === 'ipv4') return ip.toString()
    const parts = (ip as ipaddr.IPv6).parts.slice(0, 4)
    return `${parts.map((p) => p.toString(16)).join(':')}::/64`
  } catch {
    return address
  }
}

export class AuthFailureLimiter {
  private readonly entries = new Map<string, Entry>()
  private readonly limit: number
  private readonly windowMs: number
  private readonly maxEntries: number
  private readonly now: () => number

  constructor(options: AuthFailureOptions) {
    this.limit = options.limit
    this.windowMs = options.windowMs ?? 60_000
    this.maxEntries = options.maxEntries ?? 50_000
    this.now = options.now ?? Date.now
  }

  get enabled(): boolean {
    return this.limit > 0
  }

  /** Seconds until `address` may try again, or 0 when it is not blocked. */
  blockedFor(address: string | undefined): number {
    // No failure on record (the usual case): no address to parse.
    if (!this.enabled || this.entries.size === 0) return 0
    const key = addressBucket(address)
    const entry = this.entries.get(key)
    if (!entry) return 0
    const left = entry.start + this.windowMs - this.now()
    if (left <= 0) {
      this.entries.delete(key)
      return 0
    }
    return entry.count >= this.limit ? left / 1000 : 0
  }

  /** Counts one failed key check from `address`. */
  fail(address: string | undefined): void {
    if (!this.enabled) return
    const key = addressBucket(address)
    const now = this.now()
    const entry = this.entries.get(key)
    if (entry && now - entry.start < this.windowMs) {
      entry.count++
      return
    }
    if (entry) this.entries.delete(key)
    else if (this.entries.size >= this.maxEntries) this.evict(now)
    this.entries.set(key, { start: now, count: 1 })
  }

  /** Addresses tracked now (tests, metrics). */
  get size(): number {
    return this.entries.size
  }

  private evict(now: number): void {
    // Map order is insertion order, i.e. window start: expired entries are at the front.
    for (const [key, entry] of this.entries) {
      if (this.entries.size < this.maxEntries && now - entry.start < this.windowMs) return
      this.entries.delete(key)
    }
  }
}
