// GET /metrics: token or loopback, never open by default; the scrape is the
// registry's text; the scrape-time gauges read the gateway's plugins without
// querying the database per scrape.
import { test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { networkInterfaces } from 'node:os'
import { request } from 'node:http'
import parsePrometheus from 'parse-prometheus-text-format'
import metricsPlugin, { bearerMatches, isLoopback } from '../../plugins/metrics.js'
import swaggerPlugin from '../../plugins/swagger.js'
import { METRIC_NAMES } from '../../lib/observability/metrics.js'

interface Tap {
  teardown(fn: () => unknown): void
}

async function build(t: Tap, opts: Parameters<typeof metricsPlugin>[1] = {}, fastifyOpts = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, ...fastifyOpts })
  t.teardown(() => app.close())
  await app.register(metricsPlugin, { defaultMetrics: false, ...opts })
  await app.ready()
  return app
}

const TOKEN = 'scrape-token-0123456789abcdef'

test('METRICS_TOKEN set: 401 without the bearer token, 200 with it, from anywhere', async (t) => {
  const app = await build(t, { token: TOKEN })
  app.metrics.onRequest({ entryPoint: 'chat', modelLabel: 'm', status: 200, durationMs: 10, usageSource: 'none' })

  const none = await app.inject({ url: '/metrics' })
  t.equal(none.statusCode, 401, 'no header')
  t.equal(none.headers['www-authenticate'], 'Bearer realm="metrics"')
  t.same(none.json(), { error: 'GET /metrics requires Authorization: Bearer <METRICS_TOKEN>.', statusCode: 401 })
  t.notMatch(none.body, TOKEN, 'the token is never echoed')
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode, 401, 'wrong token')
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: `Basic ${TOKEN}` } })).statusCode, 401, 'wrong scheme')
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}x` } })).statusCode, 401, 'token plus a suffix')
  t.equal((await app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode, 401, 'loopback is not enough once a token is set')

  const ok = await app.inject({ url: '/metrics', remoteAddress: '203.0.113.9', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(ok.statusCode, 200, 'the token works from a non-loopback client')
  t.match(ok.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.equal(ok.headers['cache-control'], 'no-store')
  const families = parsePrometheus(ok.body) as Array<{ name: string; metrics: Array<{ value: string; labels: Record<string, string> }> }>
  const requests = families.find((f) => f.name === METRIC_NAMES.requests)
  t.equal(requests?.metrics[0]?.value, '1', 'the scrape carries what was recorded')
  t.same(requests?.metrics[0]?.labels, { entry_point: 'chat', model: 'm', status_class: '2xx' })
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: `bearer  ${TOKEN}` } })).statusCode, 200, 'scheme is case-insensitive')
})

test('METRICS_TOKEN unset: loopback clients only, 403 to everyone else', async (t) => {
  const app = await build(t)
  for (const addr of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
    t.equal((await app.inject({ url: '/metrics', remoteAddress: addr })).statusCode, 200, `${addr} may scrape`)
  }
  for (const addr of ['10.0.0.5', '192.168.1.10', '203.0.113.9', '::ffff:10.0.0.5', '2001:db8::1', 'not-an-ip']) {
    const res = await app.inject({ url: '/metrics', remoteAddress: addr })
    t.equal(res.statusCode, 403, `${addr} is refused`)
    t.equal(res.json().statusCode, 403)
    t.notMatch(res.body, /switchyard_|process_/, 'no metrics in the refusal')
  }
})

test('a forwarded-for header does not make a remote client local', async (t) => {
  const app = await build(t, {}, { trustProxy: true })
  const res = await app.inject({ url: '/metrics', remoteAddress: '203.0.113.9', headers: { 'x-forwarded-for': '127.0.0.1' } })
  t.equal(res.statusCode, 403)
})

test('over a real socket: 403 to a client on a non-loopback interface address', async (t) => {
  const iface = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)
  if (!iface) {
    t.skip('this machine has no non-loopback IPv4 interface address')
    return
  }
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(metricsPlugin, { defaultMetrics: false })
  await app.listen({ host: '0.0.0.0', port: 0 })
  const port = (app.server.address() as { port: number }).port
  const get = (host: string, localAddress: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host, port, path: '/metrics', localAddress }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      req.end()
    })
  t.equal(await get(iface.address, iface.address), 403, `from ${iface.address}`)
  t.equal(await get('127.0.0.1', '127.0.0.1'), 200, 'from 127.0.0.1')
})

test('the token can come from the validated env (config plugin)', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  app.decorate('config', { env: { METRICS_TOKEN: TOKEN }, gateway: {}, configPath: '(inline)' } as never)
  await app.register(metricsPlugin, { defaultMetrics: false })
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 401)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200)
})

test('documented in the OpenAPI document under Observability', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(swaggerPlugin)
  await app.register(metricsPlugin, { defaultMetrics: false })
  await app.ready()
  const doc = (await app.inject({ url: '/docs/json' })).json()
  const op = doc.paths['/metrics']?.get
  t.ok(op, '/metrics is in the document')
  t.same(op.tags, ['Observability'])
  t.ok(op.responses['200'].content['text/plain'], 'text/plain answer')
  t.ok(op.responses['401'] && op.responses['403'], 'refusals documented')
})

test('scrape-time gauges read the gateway plugins; the budget report is cached, not queried per scrape', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  let reports = 0
  app.decorate('modelRouting', { table: { deployments: new Map([['d1', { id: 'd1' }], ['d2', { id: 'd2' }]]) } } as never)
  app.decorate('cooldown', { health: (id: string) => ({ state: id === 'd1' ? 'half_open' : 'closed' }) } as never)
  app.decorate('latency', { inflight: { get: (id: string) => (id === 'd2' ? 4 : 0) } } as never)
  app.decorate('usage', { writer: { pending: 7, dropped: 1 } } as never)
  app.decorate('budgets', {
    report: async () => {
      reports++
      return [{ scope: 'tenant', id: 'acme', name: 'acme', window: 'monthly', period: '2026-11', limitUsd: 50, spentUsd: 20, reservedUsd: 5 }]
    },
  } as never)
  await app.register(metricsPlugin, { defaultMetrics: false })
  await app.ready()
  await new Promise((r) => setImmediate(r))

  let body = ''
  for (let i = 0; i < 5; i++) body = (await app.inject({ url: '/metrics' })).body
  t.equal(reports, 1, 'one report for five scrapes')
  const families = parsePrometheus(body) as Array<{ name: string; metrics: Array<{ value: string; labels: Record<string, string> }> }>
  const value = (name: string, labels: Record<string, string>) =>
    families.find((f) => f.name === name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v))?.value
  t.equal(value(METRIC_NAMES.circuitState, { deployment: 'd1', state: 'half_open' }), '1')
  t.equal(value(METRIC_NAMES.circuitState, { deployment: 'd2', state: 'closed' }), '1')
  t.equal(value(METRIC_NAMES.inflight, { deployment: 'd2' }), '4')
  t.equal(value(METRIC_NAMES.writerPending, { writer: 'usage' }), '7')
  t.equal(value(METRIC_NAMES.writerDropped, { writer: 'usage' }), '1')
  t.equal(value(METRIC_NAMES.budgetRemaining, { scope: 'tenant', name: 'acme', window: 'monthly' }), '25')
})

test('helpers: loopback ranges and the bearer comparison', async (t) => {
  t.ok(isLoopback('127.0.0.1'))
  t.ok(isLoopback('127.255.0.1'))
  t.ok(isLoopback('::1'))
  t.ok(isLoopback('::ffff:127.0.0.1'))
  t.notOk(isLoopback('::ffff:192.168.0.1'))
  t.notOk(isLoopback('0.0.0.0'))
  t.notOk(isLoopback(undefined))
  t.ok(bearerMatches(`Bearer ${TOKEN}`, TOKEN))
  t.notOk(bearerMatches(undefined, TOKEN))
  t.notOk(bearerMatches('Bearer', TOKEN))
  t.notOk(bearerMatches(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN))
})

test('CachedValue: reads never wait; a stale read starts one background load', async (t) => {
  const { CachedValue } = await import('../../lib/observability/cached.js')
  let now = 0
  let loads = 0
  let release: (() => void) | undefined
  const errors: unknown[] = []
  const cached = new CachedValue<number>({
    load: () => {
      loads++
      if (loads === 3) return Promise.reject(new Error('db down'))
      return new Promise((resolve) => (release = () => resolve(loads)))
    },
    maxAgeMs: 1_000,
    now: () => now,
    onError: (err) => errors.push(err),
  })
  t.equal(cached.get(), undefined, 'nothing before the first load ends')
  t.equal(cached.get(), undefined)
  t.equal(loads, 1, 'concurrent reads share one load')
  release!()
  await cached.refresh()
  t.equal(cached.get(), 1)
  now = 500
  t.equal(cached.get(), 1)
  t.equal(loads, 1, 'fresh: no load')
  now = 1_500
  t.equal(cached.get(), 1, 'stale: the old value is served')
  t.equal(loads, 2, 'and one reload started')
  release!()
  await cached.refresh()
  t.equal(cached.get(), 2)
  now = 3_000
  cached.get()
  await cached.refresh().catch(() => undefined)
  t.equal(errors.length, 1, 'a failed load is reported')
  t.equal(cached.get(), 2, 'and the last good value kept')
})
