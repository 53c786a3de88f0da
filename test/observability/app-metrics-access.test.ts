// GET /metrics on the running gateway (built from app.ts with the validated
// env): 401 without the bearer token when METRICS_TOKEN is set, whoever
// asks; 403 to a non-loopback client when it is not set.
import { test } from 'tap'
import { auth, buildTestApp, listenTestApp } from '../helpers/app.js'
import { mockGateway } from '../helpers/limits.js'
import { parseScrape, sumOf } from '../helpers/prometheus.js'
import { METRIC_NAMES } from '../../lib/observability/metrics.js'

const TOKEN = 'metrics-token-for-the-app-0123456789'

test('METRICS_TOKEN set: 401 without it (even from loopback, even with the master key), 200 with it from anywhere', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway(), env: { METRICS_TOKEN: TOKEN } })
  const served = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } })
  t.equal(served.statusCode, 200)

  for (const [what, headers, remoteAddress] of [
    ['no header, loopback', {}, '127.0.0.1'],
    ['no header, remote', {}, '203.0.113.9'],
    ['the gateway master key', auth, '127.0.0.1'],
    ['a wrong token', { authorization: 'Bearer not-the-metrics-token-000000' }, '127.0.0.1'],
  ] as const) {
    const res = await app.inject({ url: '/metrics', headers, remoteAddress })
    t.equal(res.statusCode, 401, what)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="metrics"')
    t.notMatch(res.body, /switchyard_requests_total/, 'no metrics in the refusal')
    t.notMatch(res.body, TOKEN, 'the token is never echoed')
  }
  const ok = await app.inject({ url: '/metrics', remoteAddress: '203.0.113.9', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(ok.statusCode, 200, 'the token works from a non-loopback client')
  t.equal(sumOf(parseScrape(ok.body), METRIC_NAMES.requests, { model: 'm', status_class: '2xx' }), 1, 'and the scrape has the traffic')
})

test('METRICS_TOKEN unset: 403 to non-loopback clients, 200 on loopback', async (t) => {
  const { app, url } = await listenTestApp(t, { gateway: mockGateway() })
  for (const addr of ['203.0.113.9', '10.0.0.5', '192.168.1.10', '::ffff:10.0.0.5', '2001:db8::1']) {
    const res = await app.inject({ url: '/metrics', remoteAddress: addr })
    t.equal(res.statusCode, 403, `${addr} is refused`)
    t.notMatch(res.body, /switchyard_|process_/, 'no metrics in the refusal')
  }
  const remoteWithKey = await app.inject({ url: '/metrics', remoteAddress: '203.0.113.9', headers: auth })
  t.equal(remoteWithKey.statusCode, 403, 'a gateway key does not open /metrics')
  for (const addr of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) t.equal((await app.inject({ url: '/metrics', remoteAddress: addr })).statusCode, 200, `${addr} may scrape`)

  // Over the gateway's real listener on 127.0.0.1.
  const res = await fetch(`${url}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const s = parseScrape(await res.text())
  t.ok(s.has('process_cpu_user_seconds_total'), 'the default Node process metrics are on')
  t.ok(s.has(METRIC_NAMES.shed), 'the gateway families are there before any traffic')
})
