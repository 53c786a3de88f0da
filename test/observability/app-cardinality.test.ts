// Cardinality through the running gateway: whatever model names clients send
// (names a pattern route accepts, names nothing serves, very long ones) and
// however many keys exist, the number of series on GET /metrics stops
// growing: model labels are configured names or route patterns, key labels
// are off unless the operator turns them on, and every label is capped.
import { before, test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { auth, buildTestApp } from '../helpers/app.js'
import { createKey } from '../helpers/limits.js'
import { warmWriterThread } from '../helpers/money.js'
import { startMockOpenAI } from '../mocks/openai.js'
import { parseScrape, seriesCount, sumOf, type Family } from '../helpers/prometheus.js'
import { METRIC_NAMES } from '../../lib/observability/metrics.js'
import { OVERFLOW_LABEL, PATTERN_MODEL, UNRESOLVED_MODEL } from '../../lib/observability/labels.js'

before(warmWriterThread)

interface Tap {
  teardown(fn: () => unknown): void
}

async function gateway(t: Tap, observability: unknown = undefined): Promise<FastifyInstance> {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  return buildTestApp(t, {
    gateway: {
      providers: [{ name: 'up', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'sk-upstream' }],
      models: [{ name: 'm', deployments: [{ id: 'dep-m', provider: 'up', model: 'up-m', pricing: { input: 1, output: 2 } }] }],
      routing: { strategy: 'model', patterns: [{ match: 'ft-*', provider: 'up' }] },
      ...(observability ? { observability } : {}),
    },
  })
}

/** Only the gateway's own families: the Node process metrics have their own, fixed, label sets. */
const own = (s: Map<string, Family>) => [...s.keys()].filter((n) => n.startsWith('switchyard_') || n.startsWith('gen_ai_'))

async function scrape(app: FastifyInstance) {
  const res = await app.inject({ url: '/metrics' })
  if (res.statusCode !== 200) throw new Error(`scrape: ${res.statusCode}`)
  return { text: res.body, s: parseScrape(res.body) }
}

/** Sends `names` as model names, a few at a time; returns the status codes seen. */
async function send(app: FastifyInstance, names: string[], headers = auth): Promise<Map<number, number>> {
  const codes = new Map<number, number>()
  for (let i = 0; i < names.length; i += 16) {
    const batch = await Promise.all(
      names.slice(i, i + 16).map((model) =>
        app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...headers, 'content-type': 'application/json' }, payload: { model, messages: [{ role: 'user', content: 'hi' }] } }),
      ),
    )
    for (const r of batch) codes.set(r.statusCode, (codes.get(r.statusCode) ?? 0) + 1)
  }
  return codes
}

const names = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, k) => {
    const i = from + k
    // Pattern-routed names (short, and long up to the 256-character limit) and names nothing serves.
    return i % 5 === 0 ? `ft-${i}` : i % 5 === 1 ? `ft-${'x'.repeat(240)}-${i}` : `unknown-model-${i}`
  })

test('5,000 distinct client model names: the series stop growing, and no client string is a label', async (t) => {
  const app = await gateway(t)
  await send(app, ['m', 'm'])
  const warm = await send(app, names(0, 30))
  t.same([...warm.keys()].sort(), [200, 404], 'pattern names answered, unknown names refused')
  const before = await scrape(app)
  const beforeCount = seriesCount(before.s, own(before.s))

  const codes = await send(app, names(30, 5_000))
  t.equal((codes.get(200) ?? 0) + (codes.get(404) ?? 0), 4_970, 'every request answered or refused')
  const after = await scrape(app)
  t.equal(seriesCount(after.s, own(after.s)), beforeCount, `series stay at ${beforeCount} after 5,000 names`)
  t.same(own(after.s).sort(), own(before.s).sort(), 'no new metric families')

  // Every request was counted, under a bounded label.
  const models = new Set(after.s.get(METRIC_NAMES.requests)!.samples.map((x) => x.labels.model))
  t.same([...models].sort(), ['ft-*', 'm', UNRESOLVED_MODEL].sort(), 'model labels: the configured name, the pattern, "unresolved"')
  t.notOk(models.has(PATTERN_MODEL))
  t.equal(sumOf(after.s, METRIC_NAMES.requests), 5_002, 'all 5,002 requests counted')
  t.equal(sumOf(after.s, METRIC_NAMES.requests, { model: 'ft-*', status_class: '2xx' }), 2_000, '2,000 pattern names answered')
  t.equal(sumOf(after.s, METRIC_NAMES.requests, { model: UNRESOLVED_MODEL, status_class: '4xx' }), 3_000, '3,000 unknown names refused')
  t.equal(sumOf(after.s, METRIC_NAMES.refusals), 0, 'an unknown model is not a rate-limit or budget refusal')

  // No label value anywhere is a client's string.
  const leaks = new Set<string>()
  for (const [name, f] of after.s) {
    for (const sample of f.samples) {
      for (const [label, value] of Object.entries(sample.labels)) if (/^(ft-\d|ft-x|unknown-model-)/.test(value)) leaks.add(`${name}{${label}}`)
    }
  }
  t.same([...leaks], [], "no label carries a client's model name")
  t.notMatch(after.text, /unknown-model-|ft-\d|ft-xxx/, 'no client model name in the scrape text')
  const responseModels = new Set(after.s.get(`${METRIC_NAMES.tokenUsage}_count`)!.samples.map((x) => x.labels.gen_ai_response_model))
  t.same([...responseModels].sort(), ['ft-*', 'up-m'], 'gen_ai_response_model: the configured upstream model, or the pattern')
})

test('many keys: no key label by default; with key labels on, the key label is capped', async (t) => {
  const off = await gateway(t, { metrics: { maxLabelValues: 5 } })
  const offKeys = []
  for (let i = 0; i < 12; i++) offKeys.push(await createKey(off, { name: `key-${i}`, tenant: `tenant-${i}` }))
  for (const k of offKeys) t.equal((await send(off, ['m'], k.headers)).get(200), 1)
  const a = await scrape(off)
  t.notOk(a.s.has(METRIC_NAMES.keyRequests), 'no per-key metric unless turned on')
  t.notMatch(a.text, /key-\d/, 'no key name in any label')
  const tenants = new Set(a.s.get(METRIC_NAMES.cost)!.samples.map((x) => x.labels.tenant))
  t.equal(tenants.size, 6, 'tenant: 5 values, then "other"')
  t.ok(tenants.has(OVERFLOW_LABEL))
  t.equal(sumOf(a.s, METRIC_NAMES.requests), 12)

  const on = await gateway(t, { metrics: { keyLabels: true, maxLabelValues: 5 } })
  const onKeys = []
  for (let i = 0; i < 12; i++) onKeys.push(await createKey(on, { name: `key-${i}` }))
  for (const k of onKeys) t.equal((await send(on, ['m'], k.headers)).get(200), 1)
  const b = await scrape(on)
  const keys = new Set(b.s.get(METRIC_NAMES.keyRequests)!.samples.map((x) => x.labels.key))
  t.equal(keys.size, 6, 'key: 5 names, then "other"')
  t.ok(keys.has(OVERFLOW_LABEL))
  t.equal(sumOf(b.s, METRIC_NAMES.keyRequests), 12, 'every request counted')
  t.equal(sumOf(b.s, METRIC_NAMES.keyRequests, { key: OVERFLOW_LABEL }), 7)
  for (const k of onKeys) t.notMatch(b.text, k.key, 'never the key itself')
})
