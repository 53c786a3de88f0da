// One keep-alive connection pool per upstream origin, shared by every request
// to it, so a request never pays for a new TCP/TLS handshake.
import { Pool } from 'undici'

export interface PoolOptions {
  connections?: number
  connectTimeoutMs?: number
  keepAliveTimeoutMs?: number
}

export class Pools {
  private readonly pools = new Map<string, Pool>()

  constructor(private readonly defaults: Required<PoolOptions> = { connections: 256, connectTimeoutMs: 10_000, keepAliveTimeoutMs: 30_000 }) {}

  get(origin: string, options: PoolOptions = {}): Pool {
    const key = `${origin}|${options.connections ?? ''}|${options.connectTimeoutMs ?? ''}`
    let pool = this.pools.get(key)
    if (!pool) {
      pool = new Pool(origin, {
        connections: options.connections ?? this.defaults.connections,
        connect: { timeout: options.connectTimeoutMs ?? this.defaults.connectTimeoutMs },
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
