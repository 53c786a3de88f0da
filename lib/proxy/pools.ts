// One keep-alive connection pool per upstream origin, shared by every request
// to it, so a request never pays for a new TCP/TLS handshake. Providers
// written through the admin API get pools of their own whose every new
// connection passes the upstream guard (lib/security/upstream-guard.ts).
import { Pool } from 'undici'
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
