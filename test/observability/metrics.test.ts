// GatewayMetrics: names, labels and buckets as the OpenTelemetry GenAI
// conventions give them; figures equal to the events fed in; bounded
// cardinality. Every figure is read back from a scrape parsed with
// parse-prometheus-text-format.
import { test } from 'tap'
import parsePrometheus from 'parse-prometheus-text-format'
import {
  GatewayMetrics,
  METRIC_NAMES,
  OVERHEAD_BUCKETS,
  REQUEST_DURATION_BUCKETS,
  TIME_PER_OUTPUT_TOKEN_BUCKETS,
  TIME_TO_FIRST_TOKEN_BUCKETS,
  TOKEN_USAGE_BUCKETS,
} from '../../lib/observability/metrics.js'
import { LabelGuard, modelLabelOf, statusClass, OVERFLOW_LABEL } from '../../lib/observability/labels.js'
import type { RequestEvent } from '../../lib/observability/types.js'

interface Sample {
  labels: Record<string, string>
  value: number
}
interface Family {
  type: string
  samples: Sample[]
}

/**
 * Parses a scrape into families by sample name. The parser merges the series
 * of a labelled histogram into one and drops their labels, so histograms are
 * declared untyped before parsing: their _bucket, _sum and _count series then
 * come back as plain samples, labels intact.
 */
function parseScrape(text: string): Map<string, Family> {
  const types = new Map<string, string>()
  const untyped = text
    .split('\n')
    .map((line) => {
      const m = line.startsWith('# TYPE ') ? line.slice(7).split(' ') : undefined
      if (m) types.set(m[0]!, m[1]!)
      return m && m[1] === 'histogram' ? `# TYPE ${m[0]} untyped` : line
    })
    .join('\n')
  const out = new Map<string, Family>()
  for (const f of parsePrometheus(untyped) as Array<{ name: string; type: string; metrics: Array<{ labels?: Record<string, string>; value: string }> }>) {
    // A histogram's series come one label set at a time (_bucket, _sum,
    // _count, then the next set), so a sample name can recur.
    const family = out.get(f.name) ?? { type: types.get(f.name) ?? types.get(f.name.replace(/_(bucket|sum|count)$/, '')) ?? f.type.toLowerCase(), samples: [] }
    family.samples.push(...f.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) })))
    out.set(f.name, family)
  }
  return out
}

const matches = (labels: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => (labels[k] ?? '') === v)

function sum(scrape: Map<string, Family>, name: string, where: Record<string, string> = {}): number {
  return (scrape.get(name)?.samples ?? []).filter((s) => matches(s.labels, where)).reduce((a, s) => a + s.value, 0)
}

function series(scrape: Map<string, Family>): number {
  let n = 0
  for (const f of scrape.values()) n += f.samples.length
  return n
}

const scrapeOf = async (m: GatewayMetrics) => parseScrape(await m.metrics())

const base: RequestEvent = {
  entryPoint: 'chat',
  modelLabel: 'gpt-4o',
  status: 200,
  durationMs: 500,
  overheadMs: 0.3,
  usageSource: 'upstream',
  deploymentId: 'gpt-4o@openai',
  provider: 'openai',
  providerType: 'openai',
  serverAddress: 'api.openai.com',
  serverPort: 443,
  responseModel: 'gpt-4o-2024-08-06',
}

test('GenAI metrics: Prometheus names, spec attribute labels, spec bucket boundaries', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  m.onRequest({ ...base, stream: true, ttftMs: 100, usage: { inputTokens: 10, outputTokens: 3 } })
  const s = await scrapeOf(m)

  const buckets = (name: string) =>
    (s.get(`${name}_bucket`)?.samples ?? [])
      .filter((x) => matches(x.labels, { gen_ai_token_type: x.labels.gen_ai_token_type === undefined ? '' : 'input' }))
      .map((x) => x.labels.le)
      .filter((le) => le !== '+Inf')
      .map(Number)
  t.same(buckets(METRIC_NAMES.tokenUsage), TOKEN_USAGE_BUCKETS, 'gen_ai_client_token_usage buckets')
  t.same(buckets(METRIC_NAMES.requestDuration), REQUEST_DURATION_BUCKETS, 'request duration buckets')
  t.same(buckets(METRIC_NAMES.timeToFirstToken), TIME_TO_FIRST_TOKEN_BUCKETS, 'time to first token buckets')
  t.same(buckets(METRIC_NAMES.timePerOutputToken), TIME_PER_OUTPUT_TOKEN_BUCKETS, 'time per output token buckets')
  t.same(TOKEN_USAGE_BUCKETS, [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864])
  t.same(REQUEST_DURATION_BUCKETS, [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92])
  t.same(TIME_TO_FIRST_TOKEN_BUCKETS, [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0])
  t.same(TIME_PER_OUTPUT_TOKEN_BUCKETS, [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5])
  t.equal(OVERHEAD_BUCKETS[0], 0.00005, 'overhead buckets start at 50 µs')

  for (const name of [METRIC_NAMES.tokenUsage, METRIC_NAMES.requestDuration, METRIC_NAMES.timeToFirstToken, METRIC_NAMES.timePerOutputToken]) {
    t.equal(s.get(`${name}_bucket`)?.type, 'histogram', `${name} is a histogram`)
  }
  const input = s.get(`${METRIC_NAMES.tokenUsage}_sum`)!.samples.find((x) => x.labels.gen_ai_token_type === 'input')!
  t.same(input.labels, {
    gen_ai_operation_name: 'chat',
    gen_ai_provider_name: 'openai',
    gen_ai_request_model: 'gpt-4o',
    gen_ai_response_model: 'gpt-4o-2024-08-06',
    server_address: 'api.openai.com',
    server_port: '443',
    deployment: 'gpt-4o@openai',
    gen_ai_token_type: 'input',
  })
  const duration = s.get(`${METRIC_NAMES.requestDuration}_count`)!.samples[0]!
  t.equal(duration.labels.error_type, '', 'no error_type on success')
  t.equal(s.get(METRIC_NAMES.requests)?.type, 'counter')
  t.same(s.get(METRIC_NAMES.requests)!.samples[0]!.labels, { entry_point: 'chat', model: 'gpt-4o', status_class: '2xx' })
})

test('a scrape after known traffic: requests, tokens, cost, latency, fallbacks and attempts equal the inputs', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const events: RequestEvent[] = [
    // A plain chat.
    { ...base, usage: { inputTokens: 100, outputTokens: 20, cacheReadTokens: 40, reasoningTokens: 5 }, costUsd: 0.0012, tenant: 'acme' },
    // A stream that failed over from one deployment to another of the same model.
    {
      ...base,
      stream: true,
      durationMs: 1000,
      ttftMs: 200,
      usage: { inputTokens: 50, outputTokens: 5, cacheWriteTokens: 7 },
      costUsd: 0.0005,
      deploymentId: 'gpt-4o@azure',
      provider: 'azure-eu',
      providerType: 'azure',
      serverAddress: 'eu.example.azure.com',
    },
    // A fallback model answered, with usage the gateway estimated.
    { ...base, fallbackTo: 'claude', usageSource: 'estimate', usage: { inputTokens: 30, outputTokens: 9 }, costUsd: 0.002, providerType: 'anthropic', deploymentId: 'claude@anthropic' },
    // A failure: no usage, no cost, an error type.
    { ...base, status: 502, durationMs: 40, errorType: 'upstream_unreachable', costUsd: undefined },
    // An estimate: counted as a request, no GenAI metrics.
    { entryPoint: 'estimate', modelLabel: 'gpt-4o', status: 200, durationMs: 2, overheadMs: 2, usageSource: 'none' },
  ]
  for (const e of events) m.onRequest(e)
  m.onAttempt({ deploymentId: 'gpt-4o@openai', provider: 'openai', modelLabel: 'gpt-4o', outcome: 'retried' })
  m.onAttempt({ deploymentId: 'gpt-4o@openai', provider: 'openai', modelLabel: 'gpt-4o', outcome: 'failed_over' })
  m.onAttempt({ deploymentId: 'gpt-4o@azure', provider: 'azure-eu', modelLabel: 'gpt-4o', outcome: 'ok' })
  m.onAttempt({ deploymentId: 'gpt-4o@azure', provider: 'azure-eu', modelLabel: 'gpt-4o', outcome: 'breaker_refused' })
  m.onAttempt({ deploymentId: 'gpt-4o@azure', provider: 'azure-eu', modelLabel: 'gpt-4o', outcome: 'timed_out' })
  m.onRefusal('rate_limit_requests')
  m.onRefusal('budget_tenant')
  m.onRefusal('budget_tenant')
  m.onShed()
  const s = await scrapeOf(m)

  t.equal(sum(s, METRIC_NAMES.requests), 5, 'every request counted')
  t.equal(sum(s, METRIC_NAMES.requests, { entry_point: 'chat', status_class: '2xx' }), 3)
  t.equal(sum(s, METRIC_NAMES.requests, { status_class: '5xx' }), 1)
  t.equal(sum(s, METRIC_NAMES.requests, { entry_point: 'estimate' }), 1)

  const usage = events.filter((e) => e.usage && e.usageSource !== 'none')
  const tokens = (type: 'input' | 'output') => usage.reduce((a, e) => a + (type === 'input' ? e.usage!.inputTokens : e.usage!.outputTokens), 0)
  t.equal(sum(s, `${METRIC_NAMES.tokenUsage}_sum`, { gen_ai_token_type: 'input' }), tokens('input'), 'input tokens = sum of inputs')
  t.equal(sum(s, `${METRIC_NAMES.tokenUsage}_sum`, { gen_ai_token_type: 'output' }), tokens('output'), 'output tokens = sum of inputs')
  t.equal(sum(s, `${METRIC_NAMES.tokenUsage}_count`, { gen_ai_token_type: 'input' }), usage.length, 'one observation per request with usage')
  t.equal(sum(s, `${METRIC_NAMES.tokenUsage}_sum`, { gen_ai_token_type: 'input', deployment: 'gpt-4o@azure', gen_ai_provider_name: 'azure.ai.openai' }), 50, 'tokens per deployment, provider as the spec names it')

  // Cost: every request's costUsd, as the usage records hold it (unset = 0).
  const cost = events.reduce((a, e) => a + (e.costUsd ?? 0), 0)
  t.ok(Math.abs(sum(s, METRIC_NAMES.cost) - cost) < 1e-12, `cost total ${sum(s, METRIC_NAMES.cost)} = ${cost}`)
  t.ok(Math.abs(sum(s, METRIC_NAMES.cost, { tenant: 'acme' }) - 0.0012) < 1e-12, 'cost by tenant')
  t.ok(Math.abs(sum(s, METRIC_NAMES.cost, { deployment: 'claude@anthropic' }) - 0.002) < 1e-12, 'cost by deployment')

  t.equal(sum(s, METRIC_NAMES.cachedTokens, { cache: 'read' }), 40)
  t.equal(sum(s, METRIC_NAMES.cachedTokens, { cache: 'write' }), 7)
  t.equal(sum(s, METRIC_NAMES.reasoningTokens), 5)
  t.equal(sum(s, METRIC_NAMES.estimatedTokens, { gen_ai_token_type: 'input' }), 30, 'estimated input tokens')
  t.equal(sum(s, METRIC_NAMES.estimatedTokens, { gen_ai_token_type: 'output' }), 9, 'estimated output tokens')

  t.equal(sum(s, METRIC_NAMES.fallbacks, { from: 'gpt-4o', to: 'claude' }), 1, 'fallback from the requested model to the one that answered')

  // Request duration: 4 model calls (the estimate has none), in seconds.
  t.equal(sum(s, `${METRIC_NAMES.requestDuration}_count`), 4)
  t.ok(Math.abs(sum(s, `${METRIC_NAMES.requestDuration}_sum`) - (0.5 + 1 + 0.5 + 0.04)) < 1e-9, 'durations in seconds')
  t.equal(sum(s, `${METRIC_NAMES.requestDuration}_count`, { error_type: 'upstream_unreachable' }), 1, 'the failure carries error_type')

  // The stream: ttft 0.2 s; (1.0 - 0.2) s / (5 - 1) tokens = 0.2 s per output token.
  t.equal(sum(s, `${METRIC_NAMES.timeToFirstToken}_count`), 1, 'time to first token for the stream only')
  t.ok(Math.abs(sum(s, `${METRIC_NAMES.timeToFirstToken}_sum`) - 0.2) < 1e-9)
  t.ok(Math.abs(sum(s, `${METRIC_NAMES.timePerOutputToken}_sum`) - 0.2) < 1e-9)

  // Overhead 0.3 ms for the four chats, 2 ms for the estimate.
  t.equal(sum(s, `${METRIC_NAMES.overhead}_count`), 5)
  t.equal(sum(s, `${METRIC_NAMES.overhead}_bucket`, { le: '0.00025' }), 0)
  t.equal(sum(s, `${METRIC_NAMES.overhead}_bucket`, { le: '0.0005' }), 4, '0.3 ms falls in the 0.5 ms bucket')
  t.equal(sum(s, `${METRIC_NAMES.overhead}_bucket`, { le: '0.0025', entry_point: 'estimate' }), 1)

  t.equal(sum(s, METRIC_NAMES.attempts), 5)
  for (const outcome of ['retried', 'failed_over', 'ok', 'breaker_refused', 'timed_out']) {
    t.equal(sum(s, METRIC_NAMES.attempts, { outcome }), 1, `attempt outcome ${outcome}`)
  }
  t.equal(sum(s, METRIC_NAMES.attempts, { deployment: 'gpt-4o@azure' }), 3)
  t.equal(sum(s, METRIC_NAMES.refusals, { kind: 'budget_tenant' }), 2)
  t.equal(sum(s, METRIC_NAMES.refusals, { kind: 'rate_limit_requests' }), 1)
  t.equal(sum(s, METRIC_NAMES.shed), 1)
})

test('gauges come from callbacks at scrape time', async (t) => {
  let inflight = 3
  let pending = 12
  const m = new GatewayMetrics({
    defaultMetrics: false,
    sources: {
      deployments: () => [{ id: 'a' }, { id: 'b' }],
      circuitState: (id) => (id === 'a' ? 'open' : undefined),
      inflight: (id) => (id === 'a' ? inflight : 0),
      writers: () => [{ name: 'usage', pending, dropped: 2 }],
    },
  })
  m.setSources({
    budgets: () => [
      { scope: 'tenant', name: 'acme', window: 'daily', limitUsd: 10, spentUsd: 4, reservedUsd: 1 },
      { scope: 'key', name: 'ci-key', window: 'monthly', limitUsd: 100, spentUsd: 1, reservedUsd: 0 },
    ],
  })
  let s = await scrapeOf(m)
  t.equal(sum(s, METRIC_NAMES.circuitState, { deployment: 'a', state: 'open' }), 1)
  t.equal(sum(s, METRIC_NAMES.circuitState, { deployment: 'a', state: 'closed' }), 0)
  t.equal(sum(s, METRIC_NAMES.circuitState, { deployment: 'b', state: 'closed' }), 1, 'unknown state = closed')
  t.equal(sum(s, METRIC_NAMES.inflight, { deployment: 'a' }), 3)
  t.equal(sum(s, METRIC_NAMES.inflight, { deployment: 'b' }), 0, 'idle deployments keep their series')
  t.equal(sum(s, METRIC_NAMES.writerPending, { writer: 'usage' }), 12)
  t.equal(sum(s, METRIC_NAMES.writerDropped, { writer: 'usage' }), 2)
  t.equal(sum(s, METRIC_NAMES.budgetRemaining, { scope: 'tenant', name: 'acme', window: 'daily' }), 5, 'limit - spent - reserved')
  t.equal(sum(s, METRIC_NAMES.budgetLimit, { scope: 'tenant', name: 'acme' }), 10)
  t.equal(s.get(METRIC_NAMES.budgetRemaining)!.samples.filter((x) => x.labels.scope === 'key').length, 0, 'no key names without keyLabels')

  inflight = 0
  pending = 0
  s = await scrapeOf(m)
  t.equal(sum(s, METRIC_NAMES.inflight, { deployment: 'a' }), 0, 'read again on the next scrape')
  t.equal(sum(s, METRIC_NAMES.writerPending, { writer: 'usage' }), 0)
})

test('key labels only when the operator turns them on', async (t) => {
  const off = new GatewayMetrics({ defaultMetrics: false })
  off.onRequest({ ...base, keyName: 'team-a', costUsd: 0.5 })
  const offText = await off.metrics()
  t.notMatch(offText, /team-a/, 'the key name appears nowhere')
  t.notOk(parseScrape(offText).has(METRIC_NAMES.keyRequests))

  const on = new GatewayMetrics({
    defaultMetrics: false,
    keyLabels: true,
    sources: { budgets: () => [{ scope: 'key', name: 'team-a', window: 'daily', limitUsd: 2, spentUsd: 0.5, reservedUsd: 0 }] },
  })
  on.onRequest({ ...base, keyName: 'team-a', costUsd: 0.5 })
  const s = await scrapeOf(on)
  t.equal(sum(s, METRIC_NAMES.keyRequests, { key: 'team-a', status_class: '2xx' }), 1)
  t.equal(sum(s, METRIC_NAMES.keyCost, { key: 'team-a' }), 0.5)
  t.equal(sum(s, METRIC_NAMES.budgetRemaining, { scope: 'key', name: 'team-a' }), 1.5)
})

test('default Node process metrics are on the same registry', async (t) => {
  const m = new GatewayMetrics()
  const s = await scrapeOf(m)
  t.ok(s.has('process_cpu_user_seconds_total'), 'process CPU')
  t.ok(s.has('nodejs_heap_size_used_bytes'), 'heap')
  t.ok(s.has('nodejs_eventloop_lag_seconds'), 'event-loop lag')
  t.notOk(parseScrape(await new GatewayMetrics({ defaultMetrics: false }).metrics()).has('process_cpu_user_seconds_total'), 'and can be left out')
})

test('cardinality: 5,000 distinct client model names do not add series', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  // A pattern route: its entries are named after the client's string, but
  // carry the pattern; a configured model keeps its name.
  const send = (clientModel: string) =>
    m.onRequest({
      ...base,
      modelLabel: modelLabelOf({ name: clientModel, fromPattern: true, pattern: 'ft:gpt-4o-*' }),
      responseModel: clientModel.slice(0, 10),
      usage: { inputTokens: 1, outputTokens: 1 },
      costUsd: 0.001,
    })
  for (let i = 0; i < 10; i++) send(`ft:gpt-4o-${i}`)
  const before = series(await scrapeOf(m))
  for (let i = 10; i < 5_000; i++) send(`ft:gpt-4o-${i}`)
  const s = await scrapeOf(m)
  t.equal(series(s), before, `series stay at ${before}`)
  t.equal(sum(s, METRIC_NAMES.requests, { model: 'ft:gpt-4o-*' }), 5_000, 'all counted under the pattern')
  t.notMatch(await m.metrics(), /ft:gpt-4o-4999/, 'no client string in any label')
})

test('cardinality: the overflow guard caps any label at N distinct values', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false, maxLabelValues: 50 })
  for (let i = 0; i < 5_000; i++) m.onRequest({ ...base, modelLabel: `m-${i}`, errorType: `e-${i}`, status: 500 })
  const s = await scrapeOf(m)
  const models = new Set(s.get(METRIC_NAMES.requests)!.samples.map((x) => x.labels.model))
  t.equal(models.size, 51, '50 values, then "other"')
  t.ok(models.has(OVERFLOW_LABEL))
  t.equal(sum(s, METRIC_NAMES.requests), 5_000, 'nothing lost, only folded')
  t.equal(sum(s, METRIC_NAMES.requests, { model: OVERFLOW_LABEL }), 4_950)
  const errors = new Set(s.get(`${METRIC_NAMES.requestDuration}_count`)!.samples.map((x) => x.labels.error_type))
  t.ok(errors.size <= 51, 'error_type is capped too')
})

test('label helpers', async (t) => {
  t.equal(modelLabelOf({ name: 'gpt-4o' }), 'gpt-4o')
  t.equal(modelLabelOf({ name: 'client-string', fromPattern: true, pattern: 'llama-*' }), 'llama-*')
  t.equal(modelLabelOf({ name: 'client-string', fromPattern: true }), 'pattern', 'never the client string')
  t.equal(modelLabelOf(undefined), 'unresolved')
  t.equal(statusClass(204), '2xx')
  t.equal(statusClass(499), '4xx')
  t.equal(statusClass(0), 'other')
  const g = new LabelGuard(2)
  t.equal(g.value('x', 'a'), 'a')
  t.equal(g.value('x', 'b'), 'b')
  t.equal(g.value('x', 'c'), 'other')
  t.equal(g.value('x', 'a'), 'a', 'seen values keep passing')
  t.equal(g.value('y', 'c'), 'c', 'per label name')
  t.equal(g.value('x', undefined), '')
  t.equal(g.value('z', 'q'.repeat(1000)).length, 128, 'long values are cut')
})

test("hot-path series expose what prom-client's own Counter and Histogram would", async (t) => {
  const { Registry, Histogram, Counter } = await import('prom-client')
  const { LabelledHistogram, LabelledCounter } = await import('../../lib/observability/series.js')
  const ours = new Registry()
  const theirs = new Registry()
  const buckets = [0.001, 0.01, 0.1, 1]
  const h = new LabelledHistogram('h_seconds', 'help', ['a', 'b'], buckets)
  const c = new LabelledCounter('c_total', 'help', ['a'])
  ours.registerMetric(h as never)
  ours.registerMetric(c as never)
  const ph = new Histogram({ name: 'h_seconds', help: 'help', labelNames: ['a', 'b'], buckets, registers: [theirs] })
  const pc = new Counter({ name: 'c_total', help: 'help', labelNames: ['a'], registers: [theirs] })
  // Values on a bound belong to that bucket (le is inclusive); beyond the last, only +Inf.
  const values = [0, 0.001, 0.0011, 0.01, 0.5, 1, 7, 0.00001]
  values.forEach((v, i) => {
    const labels = { a: `x${i % 2}`, b: 'y' }
    h.observe([labels.a, labels.b], v)
    ph.observe(labels, v)
    c.inc([labels.a], v)
    pc.inc({ a: labels.a }, v)
  })
  h.observe(['x0', 'y'], NaN) // ignored, as non-finite
  c.inc(['x0'], -1) // ignored: counters only go up
  const canonical = (text: string) =>
    [...parseScrape(text).entries()].flatMap(([name, f]) => f.samples.map((s) => `${name}{${Object.entries(s.labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}} ${s.value}`)).sort()
  t.same(canonical(await ours.metrics()), canonical(await theirs.metrics()))
  t.equal(await ours.metrics(), await theirs.metrics(), 'the text is byte for byte what prom-client writes')
  t.equal(parseScrape(await ours.metrics()).get('h_seconds_bucket')?.type, 'histogram')
})
