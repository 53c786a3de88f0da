// A stock Prometheus scrapes GET /metrics: the documented config is valid,
// and a real Prometheus on loopback stores the series it scraped, with the
// loopback default and with the bearer token (and is refused with a wrong
// token). Needs the Debian package: apt-get install -y prometheus.
import { test } from 'tap'
import { spawn, execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import metricsPlugin from '../../plugins/metrics.js'

const PROMETHEUS = '/usr/bin/prometheus'
const PROMTOOL = '/usr/bin/promtool'
const DOC = new URL('../../docs/prometheus.yml', import.meta.url).pathname
const TOKEN = 'prometheus-scrape-token-0123456789'

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })

test('docs/prometheus.yml is a valid Prometheus config', { skip: existsSync(PROMTOOL) ? false : 'promtool not found: apt-get install -y prometheus' }, async (t) => {
  const { stdout } = await promisify(execFile)(PROMTOOL, ['check', 'config', DOC])
  t.match(stdout, /SUCCESS/)
})

test('a real Prometheus scrapes /metrics and stores the series', { skip: existsSync(PROMETHEUS) ? false : 'prometheus not found: apt-get install -y prometheus' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-prom-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  // Two gateways' /metrics: the loopback default, and one with a token.
  const apps = []
  for (const token of [undefined, TOKEN]) {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    await app.register(metricsPlugin, { defaultMetrics: false, token })
    await app.listen({ host: '127.0.0.1', port: 0 })
    app.metrics.onRequest({
      entryPoint: 'chat',
      modelLabel: 'gpt-4o',
      status: 200,
      durationMs: 300,
      usageSource: 'upstream',
      usage: { inputTokens: 11, outputTokens: 7 },
      costUsd: 0.25,
      deploymentId: 'gpt-4o@openai',
      providerType: 'openai',
    })
    apps.push(app)
  }
  const target = (i: number) => `127.0.0.1:${(apps[i]!.server.address() as { port: number }).port}`
  writeFileSync(join(dir, 'token'), TOKEN)
  writeFileSync(join(dir, 'wrong-token'), 'not-the-token')
  const config = `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: loopback
    static_configs: [{ targets: ['${target(0)}'] }]
  - job_name: token
    authorization: { type: Bearer, credentials_file: '${join(dir, 'token')}' }
    static_configs: [{ targets: ['${target(1)}'] }]
  - job_name: wrong-token
    authorization: { type: Bearer, credentials_file: '${join(dir, 'wrong-token')}' }
    static_configs: [{ targets: ['${target(1)}'] }]
`
  writeFileSync(join(dir, 'prometheus.yml'), config)

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
    const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }
    return body.data.result
  }

  // Wait (bounded) until every job has been scraped at least once.
  let up: Awaited<ReturnType<typeof query>> = []
  for (let i = 0; i < 120 && up.length < 3; i++) {
    await new Promise((r) => setTimeout(r, 500))
    if (prom.exitCode !== null) break
    up = await query('up').catch(() => [])
  }
  t.equal(up.length, 3, `Prometheus scraped all three jobs${up.length < 3 ? `; its log: ${log}` : ''}`)
  const upOf = (job: string) => up.find((r) => r.metric.job === job)?.value[1]
  t.equal(upOf('loopback'), '1', 'loopback scrape without a token succeeds')
  t.equal(upOf('token'), '1', 'bearer-token scrape succeeds')
  t.equal(upOf('wrong-token'), '0', 'a wrong token is refused (401)')

  const requests = await query('switchyard_requests_total')
  t.equal(requests.length, 2, 'one series per scraped gateway')
  for (const r of requests) {
    t.match(r.metric, { entry_point: 'chat', model: 'gpt-4o', status_class: '2xx' })
    t.equal(r.value[1], '1')
  }
  const tokens = await query('sum by (gen_ai_token_type) (gen_ai_client_token_usage_sum{job="token"})')
  t.same(Object.fromEntries(tokens.map((r) => [r.metric.gen_ai_token_type, r.value[1]])), { input: '11', output: '7' })
  const cost = await query('sum(switchyard_cost_usd_total)')
  t.equal(cost[0]?.value[1], '0.5', 'cost from both gateways')
})
