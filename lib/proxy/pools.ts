// One keep-alive connection pool per upstream origin, shared by every request
// to it, so a request never pays for a new TCP/TLS handshake. Providers
// written through the admin API get pools of their own whose every new
// connection passes the upstream guard (lib/security/upstream-guard.ts).
import { Pool } from 'undici'
import { memoByString } from '../memo.js'
import { guardedConnector, upstreamPolicy, type LookupFn, type UpstreamPolicy } from '../security/upstream-guard.js'

export interface PoolOptions {
  connections?: number
  connectTimeoutMs?: number
  keepAliveTimeoutMs?: number
  /** Check the address of every new connection against the upstream policy (admin-written providers). */
  guarded?: boolean
}

export interface PoolsGuard {
  /** What guarded pools may reach beyond public addresses (ADMIN_UPSTREAM_ALLOW). */
  policy?: UpstreamPolicy
  /** DNS lookup for guarded connections (tests); default dns.lookup. */
  lookup?: LookupFn
}

type Defaults = Required<Omit<PoolOptions, 'guarded'>>

export class Pools {
  private readonly pools = new Map<string, Pool>()
  private readonly policy: UpstreamPolicy

  constructor(
    private readonly defaults: Defaults = { connections: 256, connectTimeoutMs: 10_000, keepAliveTimeoutMs: 30_000 },
    private readonly guard: PoolsGuard = {},
  ) {
    // No policy given: guarded pools reach public addresses only.
    this.policy = guard.policy ?? upstreamPolicy()
  }

  get(origin: string, options: PoolOptions = {}): Pool {
    const guarded = options.guarded === true
    const key = `${origin}|${options.connections ?? ''}|${options.connectTimeoutMs ?? ''}|${guarded ? 'guarded' : 'open'}`
    let pool = this.pools.get(key)
    if (!pool) {
      const timeout = options.connectTimeoutMs ?? this.defaults.connectTimeoutMs
      pool = new Pool(origin, {
        connections: options.connections ?? this.defaults.connections,
        connect: guarded ? guardedConnector(this.policy, { timeout }, this.guard.lookup) : { timeout },
        keepAliveTimeout: options.keepAliveTimeoutMs ?? this.defaults.keepAliveTimeoutMs,
        // Timeouts are enforced per attempt by the caller (AbortSignal), which
        // knows whether the request streams.
        headersTimeout: 0,
        bodyTimeout: 0,
      })
      this.pools.set(key, pool)
    }
    return pool
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()]
    this.pools.clear()
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())))
  }
}

/** An upstream URL as the pools use it: the origin (which pool) and the request path with its query. */
export interface UpstreamTarget {
  readonly origin: string
  readonly path: string
}

/** Splits an endpoint URL (memoised: endpoints repeat on every request). Throws on an invalid URL, as `new URL` does. */
export const upstreamTarget: (url: string) => UpstreamTarget = memoByString((url) => {
  const u = new URL(url)
  return Object.freeze({ origin: u.origin, path: u.pathname + u.search })
})
