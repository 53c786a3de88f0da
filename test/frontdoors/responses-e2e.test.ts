// The official openai SDK's Responses API against the running gateway, on an
// OpenAI-compatible, an Anthropic and a Gemini upstream (real HTTP mocks in
// their own wire formats): create plain and streamed, a function-call round
// trip through previous_response_id, retrieve, input_items, delete; one
// conversation carried across all three backends; every request in the usage
// records with endpoint 'responses' and its cost.
import t from 'tap'
import OpenAI from 'openai'
import { startMockOpenAI } from '../mocks/openai.js'
import { startMockAnthropic } from '../mocks/anthropic.js'
import { startMockGemini } from '../mocks/gemini.js'
import { listenTestApp, MASTER_KEY } from '../helpers/app.js'
import { adminHeaders } from '../helpers/limits.js'
import { records, warmWriterThread } from '../helpers/money.js'

await warmWriterThread()

const OPENAI_KEY = 'sk-openai-upstream'
const oai = await startMockOpenAI({ streamChunks: 4, apiKey: OPENAI_KEY, usageDetails: { cachedTokens: 3, reasoningTokens: 2 } })
const ant = await startMockAnthropic({ apiKey: 'test-anthropic-key' })
const gem = await startMockGemini({ apiKey: 'test-gemini-key' })
t.teardown(() => Promise.all([oai.close(), ant.close(), gem.close()]))

const pricing = { input: 1, output: 2 }
const gateway = {
  providers: [
    { name: 'oai', type: 'openai', baseUrl: `${oai.url}/v1`, apiKey: OPENAI_KEY },
    { name: 'claude', type: 'anthropic', baseUrl: ant.url, apiKey: 'test-anthropic-key' },
    { name: 'gem', type: 'gemini', baseUrl: gem.url, apiKey: 'test-gemini-key' },
  ],
  models: [
    { name: 'm-openai', deployments: [{ provider: 'oai', model: 'gpt-upstream', pricing }] },
    { name: 'm-claude', deployments: [{ provider: 'claude', model: 'claude-upstream', pricing }] },
    { name: 'm-gemini', deployments: [{ provider: 'gem', model: 'gemini-2.0-flash', pricing }] },
  ],
  routing: { strategy: 'model', retries: { attempts: 0 }, cooldown: { enabled: false } },
}

const { app, url } = await listenTestApp(t, { gateway })
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0, timeout: 10_000 })

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
}

type Kind = 'openai' | 'anthropic' | 'gemini'
const MODELS: Record<Kind, string> = { openai: 'm-openai', anthropic: 'm-claude', gemini: 'm-gemini' }
const PROVIDER: Record<Kind, string> = { openai: 'oai', anthropic: 'claude', gemini: 'gem' }

/** The last request body the upstream of `kind` received. */
function lastUpstream(kind: Kind): any {
  if (kind === 'openai') return oai.requests[oai.requests.length - 1]!.body
  if (kind === 'anthropic') return ant.requests[ant.requests.length - 1]!.body
  return gem.requests[gem.requests.length - 1]!.body
}

/** What the upstream of `kind` saw of a tool call and its result, in its own wire format. */
function upstreamToolTurn(kind: Kind): { callId?: string; callName?: string; result?: string } {
  const body = lastUpstream(kind)
  if (kind === 'openai') {
    const call = body.messages.find((m: any) => m.role === 'assistant' && m.tool_calls)?.tool_calls?.[0]
    const result = body.messages.find((m: any) => m.role === 'tool')
    return { callId: call?.id, callName: call?.function?.name, result: result ? `${result.tool_call_id}:${result.content}` : undefined }
  }
  if (kind === 'anthropic') {
    const blocks = body.messages.flatMap((m: any) => (Array.isArray(m.content) ? m.content : []))
    const use = blocks.find((b: any) => b.type === 'tool_use')
    const res = blocks.find((b: any) => b.type === 'tool_result')
    const text = res ? (typeof res.content === 'string' ? res.content : res.content.map((c: any) => c.text).join('')) : undefined
    return { callId: use?.id, callName: use?.name, result: res ? `${res.tool_use_id}:${text}` : undefined }
  }
  const parts = body.contents.flatMap((c: any) => c.parts ?? [])
  const call = parts.find((p: any) => p.functionCall)?.functionCall
  const res = parts.find((p: any) => p.functionResponse)?.functionResponse
  return { callName: call?.name, result: res ? `${res.name}:${JSON.stringify(res.response)}` : undefined }
}

let requestsMade = 0

for (const kind of ['openai', 'anthropic', 'gemini'] as const) {
  t.test(`${kind} backend: create, stream, function-call round trip, retrieve, input_items, delete`, async (t) => {
    const model = MODELS[kind]

    // Plain, with the gateway's headers.
    const { data: plain, response: raw } = await client.responses.create({ model, input: 'hello there', instructions: 'Be brief.' }).withResponse()
    requestsMade++
    t.equal(plain.object, 'response')
    t.match(plain.id, /^resp_[A-Za-z0-9]{24}$/)
    t.equal(plain.status, 'completed')
    t.equal(plain.model, model)
    t.equal(plain.instructions, 'Be brief.')
    t.equal(plain.store, true)
    t.equal(plain.output_text, 'echo: hello there')
    t.ok(plain.usage!.input_tokens > 0 && plain.usage!.output_tokens > 0)
    t.equal(plain.usage!.total_tokens, plain.usage!.input_tokens + plain.usage!.output_tokens)
    if (kind === 'openai') {
      t.equal(plain.usage!.input_tokens_details.cached_tokens, 3, 'cached tokens reported')
      t.equal(plain.usage!.output_tokens_details.reasoning_tokens, 2, 'reasoning tokens reported')
      t.same(lastUpstream('openai').messages[0], { role: 'system', content: 'Be brief.' }, 'instructions became the system message')
    }
    t.equal(raw.headers.get('x-switchyard-provider'), PROVIDER[kind])
    t.ok(Number(raw.headers.get('x-switchyard-cost-usd')) > 0, 'cost header')
    t.equal(raw.headers.get('x-switchyard-attempts'), '1')

    // Streamed, through the SDK's accumulator (it throws on events out of order).
    const stream = client.responses.stream({ model, input: 'stream me' })
    const types: string[] = []
    const seqs: number[] = []
    let deltas = ''
    stream.on('event', (e) => {
      types.push(e.type)
      seqs.push(e.sequence_number)
      if (e.type === 'response.output_text.delta') deltas += e.delta
    })
    const final = await stream.finalResponse()
    requestsMade++
    t.equal(types[0], 'response.created')
    t.equal(types[1], 'response.in_progress')
    t.equal(types[types.length - 1], 'response.completed')
    for (const type of ['response.output_item.added', 'response.content_part.added', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done']) {
      t.ok(types.includes(type), `stream has ${type}`)
    }
    t.same(seqs, seqs.map((_, i) => i), 'sequence_number counts from 0')
    t.equal(final.status, 'completed')
    t.equal(final.output_text, deltas, 'the deltas make the final text')
    t.match(final.output_text, /^echo:/)
    t.ok(final.usage!.output_tokens > 0, 'usage on response.completed')

    // The streamed response was stored once complete.
    const retrieved = await client.responses.retrieve(final.id)
    t.equal(retrieved.id, final.id)
    t.equal(retrieved.output_text, final.output_text)
    t.same(retrieved.usage, final.usage)

    // Function-call round trip through previous_response_id.
    const first = await client.responses.create({ model, input: 'What is the weather in Paris?', tools: [weatherTool] })
    requestsMade++
    const call = first.output.find((i) => i.type === 'function_call')
    t.ok(call, 'the model called the tool')
    if (call?.type !== 'function_call') return
    t.equal(call.name, 'get_weather')
    t.same(JSON.parse(call.arguments), { city: 'Paris' })
    t.match(call.id, /^fc_/)
    t.ok(call.call_id)

    const second = await client.responses.create({
      model,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"temperature":21}' }],
    })
    requestsMade++
    t.equal(second.status, 'completed')
    t.equal(second.previous_response_id, first.id)
    t.match(second.output_text, /^echo: /)
    const turn = upstreamToolTurn(kind)
    t.equal(turn.callName, 'get_weather', 'the upstream got the earlier tool call')
    if (kind !== 'gemini') {
      t.equal(turn.callId, call.call_id)
      t.equal(turn.result, `${call.call_id}:{"temperature":21}`, 'and its output, matched by call id')
    } else {
      t.equal(turn.result, 'get_weather:{"temperature":21}', 'and its output, matched by name')
    }
    t.match(JSON.stringify(lastUpstream(kind)), /What is the weather in Paris\?/, 'the first user message was replayed')

    const items = await client.responses.inputItems.list(second.id)
    t.equal(items.data.length, 1)
    t.match(items.data[0], { type: 'function_call_output', call_id: call.call_id, output: '{"temperature":21}' })
    t.ok(items.data[0]!.id)
    const firstItems = await client.responses.inputItems.list(first.id, { order: 'asc' })
    t.match(firstItems.data, [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is the weather in Paris?' }] }])

    // Delete: gone for retrieve and for previous_response_id.
    await client.responses.delete(second.id)
    const gone = await client.responses.retrieve(second.id).catch((e: unknown) => e)
    t.ok(gone instanceof OpenAI.NotFoundError, 'retrieve after delete is 404')
    const again = await client.responses.delete(second.id).catch((e: unknown) => e)
    t.ok(again instanceof OpenAI.NotFoundError, 'a second delete is 404')
    const cont = await client.responses.create({ model, previous_response_id: second.id, input: 'more' }).catch((e: unknown) => e)
    t.ok(cont instanceof OpenAI.NotFoundError, 'continuing a deleted response is 404')
    t.equal((cont as InstanceType<typeof OpenAI.NotFoundError>).code, 'previous_response_not_found')

    // Streamed tool call: function_call_arguments events.
    const toolStream = client.responses.stream({ model, input: 'weather in Rome?', tools: [weatherTool] })
    const toolTypes: string[] = []
    toolStream.on('event', (e) => toolTypes.push(e.type))
    const toolFinal = await toolStream.finalResponse()
    requestsMade++
    t.ok(toolTypes.includes('response.function_call_arguments.done'))
    const streamedCall = toolFinal.output.find((i) => i.type === 'function_call')
    t.equal(streamedCall?.type === 'function_call' && streamedCall.name, 'get_weather')
  })
}

t.test('one conversation across three backends', async (t) => {
  // Starts on Anthropic with a tool call…
  const first = await client.responses.create({ model: 'm-claude', input: 'Weather in Oslo?', tools: [weatherTool] })
  const call = first.output.find((i) => i.type === 'function_call')
  t.ok(call?.type === 'function_call')
  if (call?.type !== 'function_call') return
  t.match(call.call_id, /^toolu_mock_/)
  // …its result answered on Gemini…
  const second = await client.responses.create({
    model: 'm-gemini', previous_response_id: first.id,
    input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
  })
  t.equal(second.status, 'completed')
  const gemTurn = upstreamToolTurn('gemini')
  t.equal(gemTurn.callName, 'get_weather')
  t.match(gemTurn.result, /^get_weather:/)
  t.match(JSON.stringify(lastUpstream('gemini')), /Weather in Oslo\?/)
  // …and the conversation goes on, streamed, on the OpenAI-compatible upstream.
  const stream = client.responses.stream({ model: 'm-openai', previous_response_id: second.id, input: 'Thanks! And tomorrow?' })
  const third = await stream.finalResponse()
  requestsMade += 3
  t.equal(third.output_text.startsWith('echo:'), true)
  const messages = lastUpstream('openai').messages
  t.same(messages.map((m: any) => m.role), ['user', 'assistant', 'tool', 'assistant', 'user'])
  t.equal(messages[1].tool_calls[0].id, call.call_id, 'the Anthropic call id reached the OpenAI upstream')
  t.equal(messages[2].tool_call_id, call.call_id)
  t.equal(messages[2].content, 'sunny')
  t.equal(messages[3].content, second.output_text, "Gemini's answer is replayed as the assistant's")
  t.equal(messages[4].content, 'Thanks! And tomorrow?')
  const chained = await client.responses.retrieve(third.id)
  t.equal(chained.previous_response_id, second.id)
})

t.test('every request is in the usage records and /admin/usage, with endpoint and cost', async (t) => {
  const rows = await records(app)
  t.equal(rows.length, requestsMade, 'one record per request made')
  t.ok(rows.every((r) => r.endpoint === 'responses'), 'endpoint responses')
  t.ok(rows.every((r) => r.costUsd > 0 && r.status === 200 && r.usageSource === 'upstream'), 'each with its cost and upstream usage')
  t.same([...new Set(rows.map((r) => r.provider))].sort(), ['claude', 'gem', 'oai'])
  t.ok(rows.some((r) => r.stream) && rows.some((r) => !r.stream))
  const report = await app.inject({ method: 'GET', url: '/admin/usage?groupBy=model', headers: adminHeaders(app) })
  t.equal(report.statusCode, 200)
  const body = report.json()
  t.equal(body.totals.requests, requestsMade)
  const sum = rows.reduce((s, r) => s + r.costUsd, 0)
  t.ok(Math.abs(body.totals.costUsd - sum) < 1e-9, 'the report sums the records')
  t.same(body.data.map((r: any) => r.model).sort(), ['m-claude', 'm-gemini', 'm-openai'])
  const byEndpoint = (await app.inject({ method: 'GET', url: '/admin/usage?groupBy=endpoint', headers: adminHeaders(app) })).json()
  t.equal(byEndpoint.data.length, 1)
  t.match(byEndpoint.data[0], { endpoint: 'responses', requests: requestsMade })
  t.ok(Math.abs(byEndpoint.data[0].costUsd - sum) < 1e-9, 'the responses endpoint carries the whole cost')
})
