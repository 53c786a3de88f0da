// Cost as recorded and reported, end to end through the gateway.
import { before, test } from 'tap'
import { mockUsage, startMockOpenAI } from '../mocks/openai.js'
import { auth, buildTestApp, openaiConfig } from '../helpers/app.js'
import { sseData } from '../helpers/sse.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const messages = [{ role: 'user', content: 'price this request please' }]

test('cost header, usage record, and stream/unstreamed equality with cached and reasoning tokens', async (t) => {
  const up = await startMockOpenAI({ usageDetails: { cachedTokens: 4, reasoningTokens: 2 } })
  t.teardown(() => up.close())
  const cfg = openaiConfig(up.url)
  // USD per 1M tokens: input 2, cached reads 0.5, output 8.
  cfg.models[0]!.deployments[0]!.pricing = { input: 2, output: 8, cacheRead: 0.5 } as never
  const app = await buildTestApp(t, { gateway: cfg })
  const usage = mockUsage({ messages })
  // Uncached prompt at 2, cached at 0.5, completion (reasoning included, once) at 8.
  const expected = Number((((usage.prompt_tokens - 4) * 2 + 4 * 0.5 + usage.completion_tokens * 8) / 1e6).toFixed(10))

  const plain = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: { model: 'gpt-test', messages } })
  t.equal(plain.statusCode, 200)
  t.equal(Number(plain.headers['x-switchyard-cost-usd']), expected)

  const streamed = await app.inject({
    method: 'POST', url: '/v1/chat/completions', headers: auth,
    payload: { model: 'gpt-test', messages, stream: true, stream_options: { include_usage: true } },
  })
  const usageChunk = (sseData(streamed.body) as Array<{ choices?: unknown[]; usage?: unknown; switchyard?: { cost_usd: number } }>).find((e) => e.usage)
  t.equal(usageChunk?.switchyard?.cost_usd, expected, 'the final usage chunk carries the cost')

  // The client did not ask for usage: the gateway still gets it, and records the cost.
  await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: { model: 'gpt-test', messages, stream: true } })

  await app.usage.flush()
  const rows = await app.db.usageRecord.findMany({ orderBy: { createdAt: 'asc' } })
  t.equal(rows.length, 3)
  t.same(rows.map((r) => r.costUsd), [expected, expected, expected], 'streamed and unstreamed record the same cost')
  t.same(rows.map((r) => r.stream), [false, true, true])
  t.same(rows.map((r) => [r.cacheReadTokens, r.reasoningTokens]), [[4, 2], [4, 2], [4, 2]])
  t.equal(rows[0]!.deploymentId, 'gpt-test:up:upstream-model-1')
  t.equal(rows[0]!.model, 'gpt-test')
})

test('prices come from the catalog when the deployment has none', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, {
    gateway: {
      providers: [{ name: 'oa', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'k' }],
      models: [{ name: 'mini', deployments: [{ provider: 'oa', model: 'gpt-4o-mini' }] }],
    },
  })
  const stored = await app.db.priceEntry.findFirst({ where: { providerType: 'openai', model: 'gpt-4o-mini' } })
  t.ok(stored, 'the catalog was copied into the database')
  const est = await app.inject({ method: 'POST', url: '/v1/routing/estimate-cost', headers: auth, payload: { model: 'mini', messages, max_tokens: 50 } })
  t.equal(est.statusCode, 200)
  const line = est.json().chosen
  t.equal(line.tokenCounting, 'tiktoken')
  t.equal(line.completionTokens, 50)
  t.equal(line.completionTokensSource, 'max_tokens')
  t.same(line.pricePerMillion, { input: stored!.input, output: stored!.output, source: 'catalog' })
  t.equal(line.totalCostUsd, Number(((line.promptTokens * stored!.input + 50 * stored!.output) / 1e6).toFixed(10)))
})

test('latency endpoint reports per-deployment statistics', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: openaiConfig(up.url) })
  for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: { model: 'gpt-test', messages } })
  await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: { model: 'gpt-test', messages, stream: true } })
  // A 400 is not retried, so exactly one failed attempt is recorded.
  up.script({ status: 400, body: { error: { message: 'bad', type: 'invalid_request_error' } } })
  await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: { model: 'gpt-test', messages } })

  const res = await app.inject({ method: 'GET', url: '/v1/routing/latency?window=1h&model=gpt-test', headers: auth })
  t.equal(res.statusCode, 200)
  const [row] = res.json().data
  t.equal(row.deploymentId, 'gpt-test:up:upstream-model-1')
  t.equal(row.count, 5)
  t.equal(row.errorRate, 0.2)
  t.ok(row.emaMs > 0)
  t.ok(row.emaTtftMs > 0, 'the stream measured time to first token')
  t.ok(row.totalMs.p50 > 0 && row.totalMs.p99 >= row.totalMs.p50)
  t.equal(res.json().windowMs, 3_600_000)
  const bad = await app.inject({ method: 'GET', url: '/v1/routing/latency?window=forever', headers: auth })
  t.equal(bad.statusCode, 400)

  await app.latency.flush()
  t.equal(await app.db.latencySample.count(), 5, 'samples flushed in a batch')
  const agg = await app.db.latencyAggregate.findUniqueOrThrow({ where: { deploymentId: 'gpt-test:up:upstream-model-1' } })
  t.equal(agg.count, 5)
  t.equal(agg.errors, 1)
})
