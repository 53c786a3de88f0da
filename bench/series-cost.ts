// What lib/observability/series.ts saves: the per-request observations of
// GatewayMetrics.onRequest + two onAttempt calls (11 for a stream with
// usage, cached tokens and two attempts), done three ways on identical
// label values:
//   series.ts         positional label values, LabelledCounter/LabelledHistogram
//   prom-client {}    prom-client 15 Counter.inc / Histogram.observe with a label object
//   prom-client ()    prom-client 15 .labels(...values).inc()/.observe(), positional
// Process CPU time per request, median of ROUNDS rounds of N requests;
// a scrape of each registry is timed too.
//
//   npx tsc -p tsconfig.json && node dist/bench/series-cost.js
//   SERIES_BENCH_N=200000 SERIES_BENCH_ROUNDS=7 node dist/bench/series-cost.js
import { Counter, Histogram, Registry, type Metric } from 'prom-client'
import { LabelledCounter, LabelledHistogram } from '../lib/observability/series.js'
import { OVERHEAD_BUCKETS, REQUEST_DURATION_BUCKETS, TIME_PER_OUTPUT_TOKEN_BUCKETS, TIME_TO_FIRST_TOKEN_BUCKETS, TOKEN_USAGE_BUCKETS } from '../lib/observability/metrics.js'

const N = Number(process.env.SERIES_BENCH_N ?? 100_000)
const ROUNDS = Number(process.env.SERIES_BENCH_ROUNDS ?? 5)
const MODELS = 20
const DEPLOYMENTS = 3

const GEN_AI = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model', 'server_address', 'server_port', 'deployment']

interface Req {
  entry: string
  model: string
  deployment: string
  provider: string
  tenant: string
  status: string
  gen: string[]
  input: number
  output: number
  cached: number
  durationS: number
  ttftS: number
  overheadS: number
  cost: number
  stream: boolean
}

const reqs: Req[] = Array.from({ length: 1_000 }, (_, i) => {
  const model = `model-${i % MODELS}`
  const deployment = `${model}@d${i % DEPLOYMENTS}`
  return {
    entry: 'chat',
    model,
    deployment,
    provider: `p${i % DEPLOYMENTS}`,
    tenant: `t${i % 5}`,
    status: i % 50 === 0 ? '5xx' : '2xx',
    gen: ['chat', 'openai', model, `${model}-2024`, `api${i % DEPLOYMENTS}.example.com`, '443', deployment],
    input: 100 + (i % 1000),
    output: 10 + (i % 300),
    cached: i % 3 === 0 ? 64 : 0,
    durationS: (200 + (i % 800)) / 1000,
    ttftS: (50 + (i % 100)) / 1000,
    overheadS: (0.2 + (i % 10) / 100) / 1000,
    cost: 0.0001 * (1 + (i % 7)),
    stream: i % 2 === 0,
  }
})

type Observe = (r: Req) => void

function seriesImpl(): { registry: Registry; observe: Observe } {
  const registry = new Registry()
  const requests = new LabelledCounter('switchyard_requests_total', 'h', ['entry_point', 'model', 'status_class'])
  const attempts = new LabelledCounter('switchyard_attempts_total', 'h', ['deployment', 'provider', 'model', 'outcome'])
  const overhead = new LabelledHistogram('switchyard_overhead_seconds', 'h', ['entry_point', 'deployment'], OVERHEAD_BUCKETS)
  const cost = new LabelledCounter('switchyard_cost_usd_total', 'h', ['model', 'deployment', 'tenant'])
  const cached = new LabelledCounter('switchyard_cached_tokens_total', 'h', ['model', 'deployment', 'cache'])
  const duration = new LabelledHistogram('gen_ai_server_request_duration', 'h', [...GEN_AI, 'error_type'], REQUEST_DURATION_BUCKETS)
  const tokens = new LabelledHistogram('gen_ai_client_token_usage', 'h', [...GEN_AI, 'gen_ai_token_type'], TOKEN_USAGE_BUCKETS)
  const ttft = new LabelledHistogram('gen_ai_server_time_to_first_token', 'h', GEN_AI, TIME_TO_FIRST_TOKEN_BUCKETS)
  const tpot = new LabelledHistogram('gen_ai_server_time_per_output_token', 'h', GEN_AI, TIME_PER_OUTPUT_TOKEN_BUCKETS)
  for (const m of [requests, attempts, overhead, cost, cached, duration, tokens, ttft, tpot]) registry.registerMetric(m as unknown as Metric)
  return {
    registry,
    observe(r) {
      attempts.inc([r.deployment, r.provider, r.model, 'failed_over'])
      attempts.inc([r.deployment, r.provider, r.model, 'ok'])
      requests.inc([r.entry, r.model, r.status])
      overhead.observe([r.entry, r.deployment], r.overheadS)
      cost.inc([r.model, r.deployment, r.tenant], r.cost)
      if (r.cached) cached.inc([r.model, r.deployment, 'read'], r.cached)
      duration.observe([...r.gen, ''], r.durationS)
      tokens.observe([...r.gen, 'input'], r.input)
      tokens.observe([...r.gen, 'output'], r.output)
      if (r.stream) {
        ttft.observe(r.gen, r.ttftS)
        tpot.observe(r.gen, (r.durationS - r.ttftS) / (r.output - 1))
      }
    },
  }
}

function promClientImpl(style: 'object' | 'positional'): { registry: Registry; observe: Observe } {
  const registry = new Registry()
  const registers = [registry]
  const requests = new Counter({ name: 'switchyard_requests_total', help: 'h', labelNames: ['entry_point', 'model', 'status_class'], registers })
  const attempts = new Counter({ name: 'switchyard_attempts_total', help: 'h', labelNames: ['deployment', 'provider', 'model', 'outcome'], registers })
  const overhead = new Histogram({ name: 'switchyard_overhead_seconds', help: 'h', labelNames: ['entry_point', 'deployment'], buckets: OVERHEAD_BUCKETS, registers })
  const cost = new Counter({ name: 'switchyard_cost_usd_total', help: 'h', labelNames: ['model', 'deployment', 'tenant'], registers })
  const cached = new Counter({ name: 'switchyard_cached_tokens_total', help: 'h', labelNames: ['model', 'deployment', 'cache'], registers })
  const duration = new Histogram({ name: 'gen_ai_server_request_duration', help: 'h', labelNames: [...GEN_AI, 'error_type'], buckets: REQUEST_DURATION_BUCKETS, registers })
  const tokens = new Histogram({ name: 'gen_ai_client_token_usage', help: 'h', labelNames: [...GEN_AI, 'gen_ai_token_type'], buckets: TOKEN_USAGE_BUCKETS, registers })
  const ttft = new Histogram({ name: 'gen_ai_server_time_to_first_token', help: 'h', labelNames: GEN_AI, buckets: TIME_TO_FIRST_TOKEN_BUCKETS, registers })
  const tpot = new Histogram({ name: 'gen_ai_server_time_per_output_token', help: 'h', labelNames: GEN_AI, buckets: TIME_PER_OUTPUT_TOKEN_BUCKETS, registers })
  const gen = (r: Req): Record<string, string> => ({
    gen_ai_operation_name: r.gen[0]!,
    gen_ai_provider_name: r.gen[1]!,
    gen_ai_request_model: r.gen[2]!,
    gen_ai_response_model: r.gen[3]!,
    server_address: r.gen[4]!,
    server_port: r.gen[5]!,
    deployment: r.gen[6]!,
  })
  if (style === 'positional') {
    return {
      registry,
      observe(r) {
        attempts.labels(r.deployment, r.provider, r.model, 'failed_over').inc()
        attempts.labels(r.deployment, r.provider, r.model, 'ok').inc()
        requests.labels(r.entry, r.model, r.status).inc()
        overhead.labels(r.entry, r.deployment).observe(r.overheadS)
        cost.labels(r.model, r.deployment, r.tenant).inc(r.cost)
        if (r.cached) cached.labels(r.model, r.deployment, 'read').inc(r.cached)
        duration.labels(...r.gen, '').observe(r.durationS)
        tokens.labels(...r.gen, 'input').observe(r.input)
        tokens.labels(...r.gen, 'output').observe(r.output)
        if (r.stream) {
          ttft.labels(...r.gen).observe(r.ttftS)
          tpot.labels(...r.gen).observe((r.durationS - r.ttftS) / (r.output - 1))
        }
      },
    }
  }
  return {
    registry,
    observe(r) {
      attempts.inc({ deployment: r.deployment, provider: r.provider, model: r.model, outcome: 'failed_over' })
      attempts.inc({ deployment: r.deployment, provider: r.provider, model: r.model, outcome: 'ok' })
      requests.inc({ entry_point: r.entry, model: r.model, status_class: r.status })
      overhead.observe({ entry_point: r.entry, deployment: r.deployment }, r.overheadS)
      cost.inc({ model: r.model, deployment: r.deployment, tenant: r.tenant }, r.cost)
      if (r.cached) cached.inc({ model: r.model, deployment: r.deployment, cache: 'read' }, r.cached)
      const g = gen(r)
      duration.observe({ ...g, error_type: '' }, r.durationS)
      tokens.observe({ ...g, gen_ai_token_type: 'input' }, r.input)
      tokens.observe({ ...g, gen_ai_token_type: 'output' }, r.output)
      if (r.stream) {
        ttft.observe(g, r.ttftS)
        tpot.observe(g, (r.durationS - r.ttftS) / (r.output - 1))
      }
    },
  }
}

function cpuPerRequest(observe: Observe): number {
  for (let i = 0; i < 20_000; i++) observe(reqs[i % reqs.length]!) // warm-up (JIT)
  const start = process.cpuUsage()
  for (let i = 0; i < N; i++) observe(reqs[i % reqs.length]!)
  const cpu = process.cpuUsage(start)
  return (cpu.user + cpu.system) / N
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const observationsPerRequest = reqs.reduce((n, r) => n + 8 + (r.cached ? 1 : 0) + (r.stream ? 2 : 0), 0) / reqs.length

console.log(`series-cost: ${N} requests x ${ROUNDS} rounds, ${MODELS} models x ${DEPLOYMENTS} deployments, ${observationsPerRequest.toFixed(2)} observations per request, Node ${process.version}\n`)
const impls = {
  'series.ts (positional)': () => seriesImpl(),
  'prom-client, label objects': () => promClientImpl('object'),
  'prom-client, .labels(...)': () => promClientImpl('positional'),
}
const results: Record<string, number> = {}
for (const [name, make] of Object.entries(impls)) {
  const rounds: number[] = []
  let registry: Registry | undefined
  // Interleaving would share JIT state; each round gets fresh metrics instead.
  for (let k = 0; k < ROUNDS; k++) {
    const impl = make()
    rounds.push(cpuPerRequest(impl.observe))
    registry = impl.registry
  }
  results[name] = median(rounds)
  const text = await registry!.metrics()
  const scrapes: number[] = []
  for (let k = 0; k < 7; k++) {
    const t0 = process.cpuUsage()
    await registry!.metrics()
    const c = process.cpuUsage(t0)
    scrapes.push((c.user + c.system) / 1000)
  }
  console.log(
    `${name.padEnd(30)} ${median(rounds).toFixed(2).padStart(7)} µs CPU per request (rounds: ${rounds.map((x) => x.toFixed(2)).join(', ')})   scrape ${median(scrapes).toFixed(1)} ms CPU (median of 7), ${text.split('\n').filter((l) => l && !l.startsWith('#')).length} samples`,
  )
}
const base = results['series.ts (positional)']!
for (const [name, v] of Object.entries(results)) if (v !== base) console.log(`\n${name}: +${(v - base).toFixed(2)} µs per request over series.ts (x${(v / base).toFixed(1)})`)

// For scale: the whole gateway's CPU per request (inject, no sockets; the
// in-process mock provider; process CPU, so the usage writer's thread counts
// too). SERIES_BENCH_GATEWAY=0 skips it.
if (process.env.SERIES_BENCH_GATEWAY !== '0') {
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { buildApp } = await import('../app.js')
  const dir = mkdtempSync(join(tmpdir(), 'series-cost-'))
  const master = 'sk-bench-master-key-0123456789abcdef'
  const app = await buildApp({
    gateway: { providers: [{ name: 'mock', type: 'mock' }], models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'mock-a', pricing: { input: 1, output: 2 } }] }], routing: { strategy: 'model' } },
    env: { DATABASE_URL: `file:${join(dir, 'bench.db')}`, MASTER_KEY: master, JWT_SECRET: 'bench-jwt-secret-bench-jwt-secret-012345', LOG_LEVEL: 'silent' },
    logger: false,
  })
  await app.ready()
  const one = () =>
    app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' }, payload: { model: 'm', messages: [{ role: 'user', content: 'hello there' }] } })
  for (let i = 0; i < 2_000; i++) await one()
  const GN = 5_000
  const t0 = process.cpuUsage()
  for (let i = 0; i < GN; i += 10) await Promise.all(Array.from({ length: 10 }, one))
  const c = process.cpuUsage(t0)
  const perRequest = (c.user + c.system) / GN
  console.log(`\ngateway (metrics on, tracing off): ${perRequest.toFixed(0)} µs process CPU per chat request (${GN} requests by inject, 10 at a time)`)
  for (const [name, v] of Object.entries(results)) if (v !== base) console.log(`  ${name} would add ${(((v - base) / perRequest) * 100).toFixed(1)} % to it`)
  await app.close()
  rmSync(dir, { recursive: true, force: true })
}
