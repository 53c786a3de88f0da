// A stream that ends without a usage chunk still costs what it relayed
// (issue 9, point 2): the estimated prompt plus the completion counted from
// the deltas the client got, recorded as an estimate; the same figure for
// spend, the stream's own usage chunk and the record.
import { before, test } from 'tap'
import { request } from 'undici'
import { buildTestApp, listenTestApp, auth } from '../helpers/app.js'
import { sseData } from '../helpers/sse.js'
import { startMockAnthropic } from '../mocks/anthropic.js'
import { chunk, completion, DONE, openStream, pricedGateway, records, sendJson, startUpstream, warmWriterThread, until, usageChunk } from '../helpers/money.js'
import { countPromptTokens, countTextTokens } from '../../lib/cost/tokens.js'
import { computeCost } from '../../lib/cost/compute.js'

const PRICE = { input: 1_000, output: 2_000 }
const messages = [{ role: 'user', content: 'Tell me something about gateways, please.' }]
const json = { ...auth, 'content-type': 'application/json' }
const prompt = () => countPromptTokens({ model: 'm', messages } as never, 'openai', 'gpt-4o-mini').tokens
const costOf = (p: number, c: number) => computeCost({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c }, PRICE).totalUsd


before(warmWriterThread)

test('an upstream that never sends usage: charged the prompt estimate plus every relayed delta (content, reasoning, tool arguments)', async (t) => {
  const pieces = { content: ['Hello', ' world, ', 'gateways route requests.'], reasoning: ['Thinking about it.'], args: ['{"city":', '"Paris"}'], name: 'get_weather' }
  const up = await startUpstream(t, (_req, res) => {
    openStream(res)
    res.write(chunk({ role: 'assistant', content: '' }))
    for (const c of pieces.content) res.write(chunk({ content: c }))
    for (const r of pieces.reasoning) res.write(chunk({ reasoning_content: r }))
    res.write(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: pieces.name, arguments: '' } }] }))
    for (const a of pieces.args) res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: a } }] }))
    res.end(DONE)
  })
  const app = await buildTestApp(t, { gateway: pricedGateway(up.url, PRICE) })
  const res = await app.inject({
    method: 'POST', url: '/v1/chat/completions', headers: json,
    payload: { model: 'm', stream: true, stream_options: { include_usage: true }, messages },
  })
  t.equal(res.statusCode, 200)
  const events = sseData(res.body)
  t.equal(events[events.length - 1], '[DONE]', 'the stream itself ended normally')

  const completionText = [...pieces.content, ...pieces.reasoning, pieces.name, ...pieces.args].join('')
  const expected = { prompt: prompt(), completion: countTextTokens(completionText, 'o200k_base') }
  t.ok(expected.completion > 10)
  const [row] = await records(app)
  t.equal(row!.usageSource, 'estimate')
  t.equal(row!.promptTokens, expected.prompt)
  t.equal(row!.completionTokens, expected.completion)
  t.equal(row!.costUsd, costOf(expected.prompt, expected.completion))
  t.ok(row!.costUsd > 0)

  // The client asked for usage: it gets the recorded figures, marked as an estimate.
  const usage = events[events.length - 2] as { choices: unknown[]; usage: Record<string, number>; switchyard: { cost_usd: number; usage_source: string } }
  t.same(usage.choices, [])
  t.same(usage.usage, { prompt_tokens: expected.prompt, completion_tokens: expected.completion, total_tokens: expected.prompt + expected.completion })
  t.equal(usage.switchyard.cost_usd, row!.costUsd)
  t.equal(usage.switchyard.usage_source, 'estimate')
})

test('a client that disconnects before the usage chunk is charged what it received', async (t) => {
  let release!: () => void
  const held = new Promise<void>((r) => (release = r))
  const up = await startUpstream(t, async (_req, res) => {
    openStream(res)
    res.write(chunk({ role: 'assistant', content: 'Hello there, ' }))
    res.write(chunk({ content: 'friend.' }))
    res.on('close', release)
    // The rest and the usage chunk would come later: the client never waits for them.
    await held
    if (!res.destroyed) res.end(chunk({ content: ' More.' }) + usageChunk({ prompt_tokens: 999, completion_tokens: 999, total_tokens: 1998 }) + DONE)
  })
  const { app, url } = await listenTestApp(t, { gateway: pricedGateway(up.url, PRICE) })
  const controller = new AbortController()
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST', headers: json, signal: controller.signal,
    body: JSON.stringify({ model: 'm', stream: true, messages }),
  })
  t.equal(res.statusCode, 200)
  let got = ''
  for await (const c of res.body) {
    got += String(c)
    if (got.includes('friend.')) break
  }
  controller.abort()
  t.ok(await until(async () => (await records(app)).length === 1), 'the outcome was recorded')
  const [row] = await records(app)
  t.equal(row!.status, 499, 'the client closed the request')
  t.equal(row!.usageSource, 'estimate')
  t.equal(row!.promptTokens, prompt())
  t.equal(row!.completionTokens, countTextTokens('Hello there, friend.', 'o200k_base'))
  t.equal(row!.costUsd, costOf(row!.promptTokens, row!.completionTokens))
  t.ok(row!.costUsd > 0, 'not $0')
})

test('a stream the upstream cuts is charged its estimate; a stream with usage is charged the upstream figures', async (t) => {
  const up = await startUpstream(t, (req, res) => {
    openStream(res)
    res.write(chunk({ role: 'assistant', content: 'Partial answer' }))
    if ((req.body.messages as Array<{ content: string }>)[0]!.content === 'cut') {
      res.write(chunk({ content: ' that breaks' }))
      setTimeout(() => res.destroy(), 20)
      return
    }
    res.end(usageChunk({ prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 }) + DONE)
  })
  const app = await buildTestApp(t, { gateway: pricedGateway(up.url, PRICE) })
  const cut = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'm', stream: true, messages: [{ role: 'user', content: 'cut' }] } })
  const events = sseData(cut.body)
  t.ok((events[events.length - 1] as { error?: unknown }).error, 'the client got an error event')
  const whole = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'm', stream: true, messages } })
  t.equal(whole.statusCode, 200)

  const rows = await records(app)
  t.equal(rows.length, 2)
  const [cutRow, wholeRow] = rows
  t.equal(cutRow!.status, 502)
  t.equal(cutRow!.usageSource, 'estimate')
  t.equal(cutRow!.promptTokens, countPromptTokens({ model: 'm', messages: [{ role: 'user', content: 'cut' }] } as never, 'openai', 'gpt-4o-mini').tokens)
  t.equal(cutRow!.completionTokens, countTextTokens('Partial answer that breaks', 'o200k_base'))
  t.ok(cutRow!.costUsd > 0)
  t.equal(wholeRow!.usageSource, 'upstream')
  t.equal(wholeRow!.promptTokens, 11)
  t.equal(wholeRow!.completionTokens, 2)
  t.equal(wholeRow!.costUsd, costOf(11, 2))
})

test('a non-streamed answer without usage is charged its estimate, and says so in its headers', async (t) => {
  const up = await startUpstream(t, (_req, res) => sendJson(res, completion('A short answer without any usage.')))
  const app = await buildTestApp(t, { gateway: pricedGateway(up.url, PRICE) })
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'm', messages } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-switchyard-usage-source'], 'estimate')
  const [row] = await records(app)
  t.equal(row!.usageSource, 'estimate')
  t.equal(row!.completionTokens, countTextTokens('A short answer without any usage.', 'o200k_base'))
  t.equal(Number(res.headers['x-switchyard-cost-usd']), row!.costUsd)
  t.ok(row!.costUsd > 0)
})

test('a translated stream (Anthropic) cut in the middle is charged its estimate, approximated at 4 characters a token', async (t) => {
  const up = await startMockAnthropic({ apiKey: 'ak' })
  t.teardown(() => up.close())
  up.script(() => ({ kind: 'cut', message: { content: [{ type: 'text', text: 'An answer long enough to be cut in half by the mock upstream, twice over.' }] } }))
  const app = await buildTestApp(t, {
    gateway: {
      providers: [{ name: 'an', type: 'anthropic', baseUrl: up.url, apiKey: 'ak' }],
      models: [{ name: 'm', deployments: [{ id: 'dep-an', provider: 'an', model: 'claude-test', pricing: PRICE }] }],
    },
  })
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'm', stream: true, max_tokens: 100, messages } })
  t.equal(res.statusCode, 200)
  const relayed = sseData(res.body)
    .map((e) => ((e as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content ?? ''))
    .join('')
  t.ok(relayed.length > 0, 'part of the answer was relayed')
  const [row] = await records(app)
  t.equal(row!.usageSource, 'estimate')
  t.equal(row!.promptTokens, countPromptTokens({ model: 'm', max_tokens: 100, messages } as never, 'anthropic', 'claude-test').tokens)
  t.equal(row!.completionTokens, Math.ceil(relayed.length / 4))
  t.equal(row!.costUsd, costOf(row!.promptTokens, row!.completionTokens))
})
