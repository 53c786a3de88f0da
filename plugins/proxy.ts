// Upstream connection pools and the proxy engine, closed with the app.
import fp from 'fastify-plugin'
import { Pools } from '../lib/proxy/pools.js'
import { upstreamPolicy } from '../lib/security/upstream-guard.js'
import { ProxyEngine, type ProxyObserver, type AttemptRecord, type CompletionRecord } from '../lib/proxy/engine.js'
import type { DeploymentEntry } from '../lib/routing/table.js'
import type { Usage } from '../lib/openai/types.js'
import type { DeploymentHealth } from '../lib/resilience/circuit.js'

declare module 'fastify' {
  interface FastifyInstance {
    proxy: ProxyEngine
    /** Other plugins subscribe here to every attempt and outcome. */
    proxyObservers: ProxyObserver[]
    /** Set by the health plugin: a deployment's circuit state, for reports. */
    deploymentHealth?: (deploymentId: string) => DeploymentHealth
    /** Set by the cost plugin; undefined when prices are unknown. */
    costOf?: (deployment: DeploymentEntry, usage: Usage) => number | undefined
  }
}

export default fp(
  async (app) => {
    // Admin-written providers may reach public addresses plus what ADMIN_UPSTREAM_ALLOW lists.
    const pools = new Pools(undefined, { policy: upstreamPolicy(app.config.env.ADMIN_UPSTREAM_ALLOW) })
    const observers: ProxyObserver[] = []
    const observer: ProxyObserver = {
      onAttempt(record: AttemptRecord) {
        for (const o of observers) o.onAttempt?.(record)
      },
      onComplete(record: CompletionRecord) {
        for (const o of observers) o.onComplete?.(record)
      },
    }
    app.decorate('proxyObservers', observers)
    app.decorate('costOf', undefined)
    app.decorate(
      'proxy',
      new ProxyEngine({
        pools,
        observer,
        costOf: (d, u) => app.costOf?.(d, u),
        inflight: { acquire: (id) => app.latency.inflight.acquire(id) },
        maxBodyBytes: app.config.env.UPSTREAM_MAX_BODY_BYTES,
        maxEventBytes: app.config.env.UPSTREAM_MAX_EVENT_BYTES,
      }),
    )
    app.addHook('onClose', async () => {
      await pools.close()
    })
  },
  { name: 'proxy', dependencies: ['config'] },
)
