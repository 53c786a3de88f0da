// GET /metrics in the Prometheus text format, on the gateway's own listener,
// and `app.metrics` (lib/observability/metrics.ts) for the pipeline's
// observers to feed.
//
// Access: with METRICS_TOKEN set, only `Authorization: Bearer <token>` (401
// otherwise; compared in constant time). Without it, only loopback clients
// (127.0.0.0/8, ::1, ::ffff:127.x) and 403 to everyone else, so the endpoint is
// never open to the world by default. The check reads the socket's address,
// not X-Forwarded-For: a reverse proxy on the same host makes every client
// look local, so set METRICS_TOKEN there.
import fp from 'fastify-plugin'
import { createHash, timingSafeEqual } from 'node:crypto'
import ipaddr from 'ipaddr.js'
import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import { GatewayMetrics, type GatewayMetricsOptions } from '../lib/observability/metrics.js'
import { CachedValue } from '../lib/observability/cached.js'
import type { BudgetGaugeEntry, MetricsSources } from '../lib/observability/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics
  }
}

export interface MetricsPluginOptions extends Omit<GatewayMetricsOptions, 'sources'> {
  /** Use this instance instead of creating one. */
  metrics?: GatewayMetrics
  /** Bearer token for GET /metrics; default: METRICS_TOKEN from the validated env, when the config has it. */
  token?: string
  /** Read circuit, in-flight, budget and writer state from the gateway's plugins once it is ready (default true). */
  wireSources?: boolean
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (::ffff:127.x). */
export function isLoopback(address: string | undefined): boolean {
  if (!address || !ipaddr.isValid(address)) return false
  return ipaddr.process(address).range() === 'loopback'
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Compares a presented bearer token with the configured one in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(\S+)\s*$/i.exec(header ?? '')
  // Hashing first gives equal-length buffers, so timingSafeEqual never throws
  // and the comparison time does not depend on the presented token's length.
  const presented = digest(m?.[1] ?? '')
  return timingSafeEqual(presented, digest(token)) && m !== null
}

const ErrorBody = Type.Object({ error: Type.String(), statusCode: Type.Integer() })

/** Scrape-time callbacks over the gateway's own plugins, for those that are registered. */
export function gatewaySources(app: FastifyInstance): MetricsSources {
  const sources: MetricsSources = {}
  if (app.hasDecorator('modelRouting')) sources.deployments = () => app.modelRouting.table.deployments.values()
  if (app.hasDecorator('cooldown')) sources.circuitState = (id) => app.cooldown.health(id).state
  if (app.hasDecorator('latency')) sources.inflight = (id) => app.latency.inflight.get(id)
  if (app.hasDecorator('usage')) {
    sources.writers = () => [{ name: 'usage', pending: app.usage.writer.pending, dropped: app.usage.writer.dropped }]
  }
  if (app.hasDecorator('budgets')) {
    // The report reads the database: loaded in the background at most every
    // 15 s, never by the scrape itself.
    const report = new CachedValue<readonly BudgetGaugeEntry[]>({
      load: () => app.budgets.report(),
      maxAgeMs: 15_000,
      onError: (err) => app.log.warn({ err }, 'budget report for /metrics failed'),
    })
    void report.refresh()
    sources.budgets = () => report.get()
  }
  return sources
}

export default fp<MetricsPluginOptions>(
  async (app, opts) => {
    const metrics =
      opts.metrics ??
      new GatewayMetrics({ keyLabels: opts.keyLabels, maxLabelValues: opts.maxLabelValues, defaultMetrics: opts.defaultMetrics })
    const configured = app.hasDecorator('config') ? (app.config.env as { METRICS_TOKEN?: string }).METRICS_TOKEN : undefined
    const token = opts.token ?? configured
    app.decorate('metrics', metrics)
    if (opts.wireSources !== false) app.addHook('onReady', async () => metrics.setSources(gatewaySources(app)))

    app.get(
      '/metrics',
      {
        config: { neverShed: true },
        schema: {
          tags: ['Observability'],
          summary: 'Prometheus metrics',
          description:
            'Prometheus text exposition format. With METRICS_TOKEN set, requires Authorization: Bearer <METRICS_TOKEN>; ' +
            'without it, answers loopback clients only.',
          response: {
            200: { description: 'Metrics in the Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
            401: ErrorBody,
            403: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        if (token) {
          if (!bearerMatches(request.headers.authorization, token)) {
            return reply
              .code(401)
              .header('www-authenticate', 'Bearer realm="metrics"')
              .send({ error: 'GET /metrics requires Authorization: Bearer <METRICS_TOKEN>.', statusCode: 401 })
          }
        } else if (!isLoopback(request.raw.socket.remoteAddress)) {
          return reply
            .code(403)
            .send({ error: 'GET /metrics answers loopback clients only; set METRICS_TOKEN to scrape from elsewhere.', statusCode: 403 })
        }
        const body = await metrics.metrics()
        return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(body)
      },
    )
  },
  { name: 'metrics' },
)
