// Pass-through for providers that declare `responsesApi: true`: the request
// goes to their own POST /v1/responses (a real HTTP server speaking the
// Responses wire format), the answer comes back as sent; the gateway still
// stores it (the upstream gets store:false), records its usage and cost, and
// a conversation moves between the native and a translated backend.
import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import OpenAI from 'openai'
import { startMockOpenAI } from '../mocks/openai.js'
import { listenTestApp, MASTER_KEY } from '../helpers/app.js'
import { records, warmWriterThread } from '../helpers/money.js'
import { sseData } from '../helpers/sse.js'

await warmWriterThread()

interface Received { url: string; body: any; headers: IncomingMessage['headers'] }
const received: Received[] = []
let failMidStream = false

function lastUserText(input: unknown): string {
  if (typeof input === 'string') return input
  const items = Array.isArray(input) ? input : []
  const last = [...items].reverse().find((i) => i?.role === 'user')
  if (!last) return ''
  return typeof last.content === 'string' ? last.content : last.content.map((p: any) => p.text ?? '').join('')
}

function nativeResponse(body: any, n: number) {
  return {
    id: `resp_native${n}`, object: 'response', created_at: 1_700_000_000, status: 'completed', background: false, error: null, incomplete_details: null,
    instructions: body.instructions ?? null, max_output_tokens: null, model: `${body.model}-2025-01-01`,
    output: [{ type: 'message', id: `msg_native${n}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: `native: ${lastUserText(body.input)}`, annotations: [] }] }],
    parallel_tool_calls: true, previous_response_id: body.previous_response_id ?? null, reasoning: { effort: null, summary: null }, store: body.store ?? true,
    temperature: 1, text: { format: { type: 'text' } }, tool_choice: 'auto', tools: body.tools ?? [], top_p: 1, truncation: 'disabled',
    usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 5 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 3 }, total_tokens: 27 },
    user: null, metadata: {},
  }
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let raw = ''
  req.on('data', (c) => (raw += c))
  req.on('end', async () => {
    const body = JSON.parse(raw || '{}')
    received.push({ url: req.url ?? '', body, headers: req.headers })
    if (req.url !== '/v1/responses') {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: 'no such route', type: 'invalid_request_error', param: null, code: null } }))
      return
    }
    const response = nativeResponse(body, received.length)
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(response))
      return
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    let seq = 0
    const send = (type: string, data: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data, sequence_number: seq++ })}\n\n`)
    const item = response.output[0]!
    const text = item.content[0]!.text
    const pending = { ...response, status: 'in_progress', output: [], usage: null }
    send('response.created', { response: pending })
    send('response.in_progress', { response: pending })
    send('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } })
    send('response.content_part.added', { item_id: item.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } })
    send('response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta: text.slice(0, 8), logprobs: [] })
    if (failMidStream) {
      send('error', { code: 'server_error', message: 'The model crashed.', param: null })
      res.end()
      return
    }
    send('response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta: text.slice(8), logprobs: [] })
    send('response.output_text.done', { item_id: item.id, output_index: 0, content_index: 0, text, logprobs: [] })
    send('response.content_part.done', { item_id: item.id, output_index: 0, content_index: 0, part: item.content[0] })
    send('response.output_item.done', { output_index: 0, item })
    send('response.completed', { response })
    res.end()
  })
})
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const nativeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const chatUp = await startMockOpenAI({ streamChunks: 3 })
t.teardown(async () => {
  server.closeAllConnections()
  await new Promise<void>((r) => server.close(() => r()))
  await chatUp.close()
})

const gateway = {
  providers: [
    { name: 'native', type: 'openai', baseUrl: `${nativeUrl}/v1`, apiKey: 'sk-native-secret', responsesApi: true },
    { name: 'chat-only', type: 'openai', baseUrl: `${chatUp.url}/v1`, apiKey: 'sk-chat' },
  ],
  models: [
    { name: 'm-native', deployments: [{ provider: 'native', model: 'gpt-native', pricing: { input: 1, output: 2 } }] },
    { name: 'm-chat', deployments: [{ provider: 'chat-only', model: 'chat-model', pricing: { input: 1, output: 2 } }] },
  ],
  routing: { strategy: 'model', retries: { attempts: 0 }, cooldown: { enabled: false } },
}
const { app, url } = await listenTestApp(t, { gateway })
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0, timeout: 10_000 })

t.test('plain: passed through, stored by the gateway, usage and cost from the native answer', async (t) => {
  const { data, response: raw } = await client.responses.create({ model: 'm-native', input: 'hi there', instructions: 'Be brief.' }).withResponse()
  t.equal(data.output_text, 'native: hi there')
  t.equal(data.id, `resp_native${received.length}`, "the upstream's own id")
  t.equal(data.store, true, "the client's store echoed")
  t.equal(raw.headers.get('x-switchyard-provider'), 'native')
  t.ok(Number(raw.headers.get('x-switchyard-cost-usd')) > 0)
  const sent = received[received.length - 1]!
  t.equal(sent.url, '/v1/responses')
  t.equal(sent.headers.authorization, 'Bearer sk-native-secret')
  t.match(sent.body, { model: 'gpt-native', input: 'hi there', instructions: 'Be brief.', store: false }, 'as sent, model rewritten, store off upstream')
  t.same(await client.responses.retrieve(data.id), data, 'retrievable from the gateway')

  const [row] = (await records(app)).slice(-1)
  t.match(row, { endpoint: 'responses', provider: 'native', promptTokens: 20, completionTokens: 7, cacheReadTokens: 5, reasoningTokens: 3, usageSource: 'upstream' })
  t.ok(row!.costUsd > 0)

  // A tool only OpenAI's own API runs: passed through natively, refused on a chat-only backend.
  const tools = [{ type: 'computer_use_preview', display_width: 1024, display_height: 768, environment: 'browser' }] as never
  const computer = await client.responses.create({ model: 'm-native', input: 'click', tools })
  t.equal(computer.status, 'completed')
  t.same(received[received.length - 1]!.body.tools, tools)
  const refused = await client.responses.create({ model: 'm-chat', input: 'click', tools }).catch((e: unknown) => e)
  t.ok(refused instanceof OpenAI.BadRequestError, 'a chat-only backend cannot run it: 400')
})

t.test('streamed: events relayed as sent, stored once complete', async (t) => {
  const stream = client.responses.stream({ model: 'm-native', input: 'stream please' })
  const types: string[] = []
  stream.on('event', (e) => types.push(e.type))
  const final = await stream.finalResponse()
  t.equal(final.output_text, 'native: stream please')
  t.same(types, [
    'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added', 'response.output_text.delta',
    'response.output_text.delta', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed',
  ])
  t.equal(final.store, true)
  t.equal(received[received.length - 1]!.body.stream, true)
  const stored = await client.responses.retrieve(final.id)
  t.equal(stored.output_text, final.output_text)
  const [row] = (await records(app)).slice(-1)
  t.match(row, { endpoint: 'responses', stream: true, promptTokens: 20, completionTokens: 7, status: 200 })
})

t.test('a conversation moves between the native and a translated backend', async (t) => {
  const first = await client.responses.create({ model: 'm-native', input: 'first' })
  const second = await client.responses.create({ model: 'm-chat', previous_response_id: first.id, input: 'second' })
  t.equal(second.output_text, 'echo: second')
  t.same(chatUp.requests[chatUp.requests.length - 1]!.body!.messages, [
    { role: 'user', content: 'first' },
    { role: 'assistant', content: 'native: first' },
    { role: 'user', content: 'second' },
  ])
  const third = await client.responses.create({ model: 'm-native', previous_response_id: second.id, input: 'third' })
  t.equal(third.previous_response_id, second.id, "the client's previous_response_id echoed")
  const sent = received[received.length - 1]!.body
  t.notOk('previous_response_id' in sent, 'the upstream never sees gateway ids')
  t.equal(sent.store, false)
  t.same(sent.input.map((i: any) => [i.role, typeof i.content === 'string' ? i.content : i.content[0].text]), [
    ['user', 'first'], ['assistant', 'native: first'], ['user', 'second'], ['assistant', 'echo: second'], ['user', 'third'],
  ], 'the conversation replayed as input items')
  t.ok(sent.input.slice(0, 4).every((i: any) => !('id' in i)), 'without the stored ids')
  t.equal(third.output_text, 'native: third')
})

t.test('store:false and a native stream failing mid-way: nothing stored', async (t) => {
  const before = await app.db.storedResponse.count()
  const ephemeral = await client.responses.create({ model: 'm-native', input: 'x', store: false })
  t.equal(ephemeral.store, false)
  failMidStream = true
  t.teardown(() => {
    failMidStream = false
  })
  const res = await fetch(`${url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm-native', input: 'crash', stream: true }) })
  const events = sseData(await res.text()) as Array<Record<string, any>>
  t.equal(events[events.length - 1]!.type, 'error', 'the upstream error event is relayed')
  t.equal(events[events.length - 1]!.message, 'The model crashed.')
  t.notOk(events.some((e) => e.type === 'response.completed'))
  t.equal(await app.db.storedResponse.count(), before)
  const [row] = (await records(app)).slice(-1)
  t.equal(row!.endpoint, 'responses')
  t.not(row!.status, 200)
})
