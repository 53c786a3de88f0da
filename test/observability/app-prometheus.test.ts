// The documented scrape config (docs/prometheus.yml, its target pointed at
// the test gateway and its interval shortened) run by a stock Prometheus
// against the running gateway after traffic: the example queries of the
// config graph traffic, tokens, cost, latency, time to first token and
// overhead per deployment, and the cost equals the usage records. Needs the
// Debian package: apt-get install -y prometheus.
import { before, test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { auth, listenTestApp } from '../helpers/app.js'
import { warmWriterThread } from '../helpers/money.js'
import { startMockOpenAI } from '../mocks/openai.js'

const PROMETHEUS = '/usr/bin/prometheus'
const DOC = new URL('../../docs/prometheus.yml', import.meta.url).pathname

before(warmWriterThread)

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })

test('a stock Prometheus with the documented config graphs the gateway per deployment', { skip: existsSync(PROMETHEUS) ? false : 'prometheus not found: apt-get install -y prometheus' }, async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const { app, url } = await listenTestApp(t, {
    gateway: {
      providers: [{ name: 'up', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'sk-upstream' }],
      models: [{ name: 'm', deployments: [{ id: 'dep-m', provider: 'up', model: 'up-m', pricing: { input: 2, output: 3 } }] }],
      routing: { strategy: 'model' },
    },
  })
  const post = (body: Record<string, unknown>) =>
    fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hello prometheus' }], ...body }) })
  for (const stream of [false, true, false, true]) {
    const res = await post(stream ? { stream: true } : {})
    t.equal(res.status, 200)
    await res.text()
  }
  await app.usage.flush()
  const records = await app.db.usageRecord.findMany()
  t.equal(records.length, 4)
  const recordedCost = records.reduce((n, r) => n + r.costUsd, 0)

  const dir = mkdtempSync(join(tmpdir(), 'switchyard-prom-app-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const target = new URL(url).host
  const doc = readFileSync(DOC, 'utf8')
  t.match(doc, /targets: \['127\.0\.0\.1:8080'\]/, 'the documented loopback job')
  writeFileSync(join(dir, 'prometheus.yml'), doc.replace('127.0.0.1:8080', target).replace('scrape_interval: 15s', 'scrape_interval: 1s').replace('scrape_timeout: 10s', 'scrape_timeout: 1s'))

  const port = await freePort()
  const prom = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let log = ''
  prom.stderr!.on('data', (c) => (log = (log + c).slice(-4000)))
  const exited = new Promise((resolve) => prom.once('exit', resolve))
  t.teardown(async () => {
    if (prom.exitCode === null) prom.kill('SIGTERM')
    await exited
  })
  const query = async (q: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`)
    const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }
    return body.data.result
  }
  // Bounded wait for two scrapes of the gateway (rate() needs two samples).
  let samples: Awaited<ReturnType<typeof query>> = []
  for (let i = 0; i < 120 && samples.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 500))
    if (prom.exitCode !== null) break
    samples = await query('count_over_time(up{job="switchyard"}[1m]) >= 2').catch(() => [])
  }
  t.equal(samples.length, 1, `Prometheus scraped the gateway twice${samples.length ? '' : `; its log: ${log}`}`)
  t.equal((await query('up{job="switchyard"}'))[0]?.value[1], '1', 'the scrape succeeds (loopback, no token)')

  const requests = await query('sum by (model, status_class) (switchyard_requests_total)')
  t.same(requests.map((r) => [r.metric.model, r.metric.status_class, r.value[1]]), [['m', '2xx', '4']], 'traffic')
  const tokens = await query('sum by (deployment, gen_ai_token_type) (gen_ai_client_token_usage_sum)')
  const tokenOf = (type: string) => tokens.find((r) => r.metric.deployment === 'dep-m' && r.metric.gen_ai_token_type === type)?.value[1]
  t.equal(tokenOf('input'), String(records.reduce((n, r) => n + r.promptTokens, 0)), 'input tokens per deployment')
  t.equal(tokenOf('output'), String(records.reduce((n, r) => n + r.completionTokens, 0)), 'output tokens per deployment')
  const cost = await query('sum by (model, deployment) (switchyard_cost_usd_total)')
  t.equal(cost.length, 1)
  t.match(cost[0]?.metric, { model: 'm', deployment: 'dep-m' })
  t.ok(Math.abs(Number(cost[0]?.value[1]) - recordedCost) < 1e-12, `cost ${cost[0]?.value[1]} = recorded ${recordedCost}`)

  // The documented latency queries answer per deployment.
  for (const [what, q] of [
    ['request duration p95', 'histogram_quantile(0.95, sum by (le, deployment) (rate(gen_ai_server_request_duration_bucket[5m])))'],
    ['time to first token p95', 'histogram_quantile(0.95, sum by (le, deployment) (rate(gen_ai_server_time_to_first_token_bucket[5m])))'],
    ['overhead p99', 'histogram_quantile(0.99, sum by (le, deployment) (rate(switchyard_overhead_seconds_bucket[5m])))'],
  ] as const) {
    const r = await query(q)
    t.same(r.map((x) => x.metric.deployment), ['dep-m'], `${what}: one series, for dep-m`)
  }
  const ttftCount = await query('sum by (deployment) (gen_ai_server_time_to_first_token_count)')
  t.equal(ttftCount[0]?.value[1], '2', 'two streams timed to their first token')
})
