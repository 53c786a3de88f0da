// /v1/responses under hostile or broken conditions: malformed bodies, unknown
// and absurd previous_response_id chains, a client that leaves mid-stream, an
// upstream that dies mid-stream or is not there at all, and what Codex CLI
// sends (developer input, store:false, hosted and namespaced tools).
import { before, test } from 'tap'
import { request as httpRequest } from 'node:http'
import { createServer } from 'node:net'
import OpenAI from 'openai'
import { listenTestApp, buildTestApp, auth, MASTER_KEY } from '../helpers/app.js'
import { chunk, DONE, openStream, records, sendJson, startUpstream, until, usageChunk, warmWriterThread } from '../helpers/money.js'
import { sseData } from '../helpers/sse.js'
import { ownerOf, storedRow, MAX_CHAIN_RESPONSES, type Response } from '../../lib/frontdoors/responses/index.js'
import { createStoredResponses } from '../../lib/storage/stored-responses.js'

before(warmWriterThread)

function gateway(url: string) {
  return {
    providers: [{ name: 'up', type: 'openai', baseUrl: `${url}/v1`, apiKey: 'sk-up-secret' }],
    models: [{ name: 'm', deployments: [{ id: 'dep-up', provider: 'up', model: 'up-model', pricing: { input: 1, output: 2 } }] }],
    routing: { strategy: 'model', retries: { attempts: 0 }, cooldown: { enabled: false } },
  }
}

const completion = (message: Record<string, unknown>, finish = 'stop') => ({
  id: 'chatcmpl-up', object: 'chat.completion', created: 1, model: 'up-model',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }],
  usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 },
})

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

test('malformed bodies: 400 in OpenAI error JSON, nothing sent upstream', async (t) => {
  const up = await startUpstream(t, (_req, res) => sendJson(res, completion({ content: 'hi' })))
  const app = await buildTestApp(t, { gateway: gateway(up.url) })
  const cases: Array<[string, string, string | null]> = [
    ['{"model":"m","input":', 'invalid_json', null],
    [JSON.stringify({ input: 'no model' }), 'invalid_request_body', null],
    [JSON.stringify({ model: 'm', input: 42 }), 'invalid_request_body', null],
    [JSON.stringify({ model: 'm', input: [{ role: 'wizard', content: 'x' }] }), 'invalid_request_body', 'input[0].role'],
    [JSON.stringify({ model: 'm', input: [{ type: 'function_call_output', output: 'x' }] }), 'invalid_request_body', 'input[0].call_id'],
    [JSON.stringify({ model: 'm', input: 'x', tools: [{ type: 'computer_use_preview' }] }), 'invalid_request_body', 'tools[0].type'],
    [JSON.stringify({ model: 'm', input: 'x', temperature: 7 }), 'invalid_request_body', null],
    [JSON.stringify({ model: 'm', input: 'x', previous_response_id: '' }), 'invalid_request_body', null],
    [JSON.stringify({ model: 'm', input: 'x', background: true }), 'invalid_request_body', 'background'],
    [JSON.stringify({ model: 'm', input: [] }), 'invalid_request_body', 'input'],
    [JSON.stringify({ model: 'm', input: 'x', text: { format: { type: 'yaml' } } }), 'invalid_request_body', 'text.format.type'],
  ]
  for (const [payload, code, param] of cases) {
    const res = await app.inject({ method: 'POST', url: '/v1/responses', headers: { ...auth, 'content-type': 'application/json' }, payload })
    t.equal(res.statusCode, 400, payload)
    const err = res.json().error
    t.equal(err.type, 'invalid_request_error')
    if (code !== 'invalid_request_body' || param !== null) t.equal(err.code, code)
    if (param !== null) t.equal(err.param, param, `param of ${payload}`)
    t.ok(typeof err.message === 'string' && err.message.length > 0)
  }
  const wrongType = await app.inject({ method: 'POST', url: '/v1/responses', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hello' })
  t.equal(wrongType.statusCode, 415)
  const unauth = await app.inject({ method: 'POST', url: '/v1/responses', payload: { model: 'm', input: 'x' } })
  t.equal(unauth.statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/v1/responses/resp_x' })).statusCode, 401, 'GET needs a key too')
  t.equal(up.received.length, 0, 'nothing reached the upstream')
  t.equal((await records(app)).length, 0, 'no usage records for refused bodies')
})

test('unknown previous_response_id: 404 previous_response_not_found; absurd chains refused', async (t) => {
  const up = await startUpstream(t, (_req, res) => sendJson(res, completion({ content: 'hi' })))
  const { app, url } = await listenTestApp(t, { gateway: gateway(up.url) })
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 })
  const err = await client.responses.create({ model: 'm', input: 'x', previous_response_id: 'resp_unknown' }).catch((e: unknown) => e)
  t.ok(err instanceof OpenAI.NotFoundError)
  t.equal((err as InstanceType<typeof OpenAI.NotFoundError>).code, 'previous_response_not_found')
  t.match((err as Error).message, /Previous response with id 'resp_unknown' not found/)
  t.equal(up.received.length, 0)

  // A stored response deep in a chain: refused from its depth alone, before the chain is read.
  const store = createStoredResponses(app.db)
  const deep: Response = {
    id: 'resp_deep', object: 'response', created_at: 1_700_000_000, status: 'completed', background: false, error: null, incomplete_details: null,
    instructions: null, max_output_tokens: null, model: 'm', output: [], parallel_tool_calls: true, previous_response_id: 'resp_missing_parent',
    reasoning: { effort: null, summary: null }, store: true, temperature: null, text: { format: { type: 'text' } }, tool_choice: 'auto', tools: [],
    top_p: null, truncation: 'disabled', usage: null, user: null, metadata: {},
  }
  await store.save(storedRow(deep, [], ownerOf({ id: null, tenant: null }), MAX_CHAIN_RESPONSES + 1))
  const tooLong = await app.inject({ method: 'POST', url: '/v1/responses', headers: auth, payload: { model: 'm', input: 'x', previous_response_id: 'resp_deep' } })
  t.equal(tooLong.statusCode, 400)
  t.equal(tooLong.json().error.code, 'conversation_too_long')
  t.match(tooLong.json().error.message, new RegExp(`it has ${MAX_CHAIN_RESPONSES + 1} responses; at most ${MAX_CHAIN_RESPONSES}`))
  t.equal(up.received.length, 0)
})

test('client leaves mid-stream: usage recorded, nothing stored', async (t) => {
  let release: () => void = () => {}
  const up = await startUpstream(t, async (_req, res) => {
    openStream(res)
    res.write(chunk({ role: 'assistant', content: '' }))
    res.write(chunk({ content: 'partial answer' }))
    await new Promise<void>((r) => (release = r))
    res.end()
  })
  const { app, url } = await listenTestApp(t, { gateway: gateway(up.url) })
  const target = new URL(`${url}/v1/responses`)
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest({ method: 'POST', host: target.hostname, port: target.port, path: target.pathname, headers: { ...auth, 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => {
        text += d
        if (text.includes('response.output_text.delta')) {
          req.destroy()
          resolve()
        }
      })
      res.on('error', () => {})
    })
    req.on('error', () => {})
    req.setTimeout(10_000, () => reject(new Error('no delta within 10 s')))
    req.end(JSON.stringify({ model: 'm', input: 'tell me a long story', stream: true }))
  })
  t.ok(await until(async () => (await records(app)).length === 1), 'the request was recorded')
  release()
  const [row] = await records(app)
  t.equal(row!.endpoint, 'responses')
  t.equal(row!.status, 499)
  t.equal(row!.error, 'client_closed')
  t.equal(row!.usageSource, 'estimate', 'no upstream usage arrived: the gateway counted')
  t.ok(row!.promptTokens > 0 && row!.completionTokens > 0 && row!.costUsd > 0, 'charged for what was read and sent')
  t.equal(await app.db.storedResponse.count(), 0, 'no stored response')
})

test('upstream dies mid-stream: error then response.failed; recorded, not stored', async (t) => {
  const up = await startUpstream(t, async (_req, res) => {
    openStream(res)
    res.write(chunk({ role: 'assistant', content: '' }))
    await new Promise<void>((r) => res.write(chunk({ content: 'half an ans' }), () => r()))
    res.socket?.destroy()
  })
  const { app, url } = await listenTestApp(t, { gateway: gateway(up.url) })
  const res = await fetch(`${url}/v1/responses`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'x', stream: true }) })
  t.equal(res.status, 200, 'committed before the failure')
  const events = sseData(await res.text()) as Array<Record<string, any>>
  const types = events.map((e) => e.type)
  t.same(types.slice(-2), ['error', 'response.failed'])
  t.notOk(types.includes('response.completed'))
  const error = events[events.length - 2]!
  t.equal(error.code, 'upstream_stream_interrupted')
  const failed = events[events.length - 1]!.response
  t.equal(failed.status, 'failed')
  t.equal(failed.error.code, 'server_error')
  t.equal(failed.output[0].content[0].text, 'half an ans', 'what was produced is kept in the failed response')
  t.equal(failed.output[0].status, 'incomplete')
  t.same(events.map((e) => e.sequence_number), events.map((_, i) => i))
  t.notOk(JSON.stringify(events).includes('sk-up-secret'), 'no upstream secret in the stream')

  // The SDK's stream helper rejects with the error event (its `error` listener fires for that event type).
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 })
  const sdkErr = await client.responses.stream({ model: 'm', input: 'again' }).finalResponse().then(() => undefined, (e: unknown) => e)
  t.match(sdkErr, { type: 'error', code: 'upstream_stream_interrupted' }, 'the SDK reports the failure')

  const rows = await records(app)
  t.equal(rows.length, 2)
  t.ok(rows.every((r) => r.endpoint === 'responses' && r.status === 502 && r.error === 'upstream_stream_interrupted'))
  t.equal(await app.db.storedResponse.count(), 0, 'a failed response is not stored')
})

test('dead upstream: 502 in OpenAI error JSON, plain and streamed; recorded', async (t) => {
  const port = await deadPort()
  const { app, url } = await listenTestApp(t, { gateway: gateway(`http://127.0.0.1:${port}`) })
  for (const stream of [false, true]) {
    const res = await fetch(`${url}/v1/responses`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'x', stream }) })
    t.equal(res.status, 502, `stream ${stream}`)
    const body = (await res.json()) as { error: { code: string; type: string } }
    t.equal(body.error.code, 'upstream_unreachable')
    t.equal(res.headers.get('x-switchyard-attempts'), '1')
  }
  const rows = await records(app)
  t.equal(rows.length, 2)
  t.ok(rows.every((r) => r.endpoint === 'responses' && r.status === 502 && r.costUsd === 0))
  t.equal(await app.db.storedResponse.count(), 0)
})

test('what Codex CLI sends: developer input, store:false, hosted and namespaced tools, streamed', async (t) => {
  const up = await startUpstream(t, (req, res) => {
    const tools = (req.body.tools as Array<{ function: { name: string } }> | undefined) ?? []
    openStream(res)
    res.write(chunk({ role: 'assistant', content: '' }))
    res.write(chunk({ tool_calls: [{ index: 0, id: 'call_ns1', type: 'function', function: { name: tools[0]!.function.name, arguments: '' } }] }))
    res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":"switchyard"}' } }] }))
    res.write(chunk({}, { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }))
    res.write(usageChunk({ prompt_tokens: 50, completion_tokens: 9, total_tokens: 59 }))
    res.end(DONE)
  })
  const { app, url } = await listenTestApp(t, { gateway: gateway(up.url) })
  const body = {
    model: 'm',
    instructions: 'You are a coding agent.',
    input: [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions>sandbox: read-only</permissions>' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'search the docs' }] },
    ],
    tools: [
      { type: 'namespace', name: 'mcp__docs', description: 'Docs server', tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } }, strict: false }] },
      { type: 'web_search' },
      { type: 'function', name: 'shell', parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } } }, strict: false },
      { type: 'custom', name: 'apply_patch', description: 'Edit files', format: { type: 'grammar', syntax: 'lark', definition: 'start: "*** Begin Patch"' } },
    ],
    tool_choice: 'auto',
    parallel_tool_calls: false,
    reasoning: { effort: 'medium', summary: 'auto' },
    store: false,
    stream: true,
    include: ['reasoning.encrypted_content'],
    prompt_cache_key: 'session-123',
  }
  const res = await fetch(`${url}/v1/responses`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  t.equal(res.status, 200)
  const events = sseData(await res.text()) as Array<Record<string, any>>
  const done = events.find((e) => e.type === 'response.output_item.done')!.item
  t.match(done, { type: 'function_call', name: 'lookup', namespace: 'mcp__docs', call_id: 'call_ns1', arguments: '{"q":"switchyard"}', status: 'completed' })
  const completed = events[events.length - 1]!
  t.equal(completed.type, 'response.completed')
  t.equal(completed.response.store, false)
  t.same(completed.response.usage, { input_tokens: 50, input_tokens_details: { cached_tokens: 0 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 59 })
  t.same(completed.response.tools, body.tools, 'tools echoed as sent, hosted ones included')

  const sent = up.received[0]!.body as any
  t.same(sent.messages.slice(0, 2), [
    { role: 'system', content: 'You are a coding agent.' },
    { role: 'system', content: '<permissions>sandbox: read-only</permissions>' },
  ], 'developer input became a system message, in place')
  t.same(sent.tools.map((x: any) => x.function.name), ['mcp__docs__lookup', 'shell', 'apply_patch'], 'web_search dropped; namespace flattened; custom as a function')
  t.equal(sent.parallel_tool_calls, false)
  t.equal(sent.reasoning_effort, 'medium')
  t.notOk('store' in sent || 'include' in sent || 'prompt_cache_key' in sent || 'instructions' in sent, 'Responses-only fields not sent to a chat upstream')
  t.equal(await app.db.storedResponse.count(), 0, 'store:false kept nothing')

  // Forcing a hosted tool cannot be honoured: 400, not sent.
  const forced = await app.inject({ method: 'POST', url: '/v1/responses', headers: auth, payload: { model: 'm', input: 'x', tools: [{ type: 'web_search' }], tool_choice: { type: 'web_search' } } })
  t.equal(forced.statusCode, 400)
  t.equal(forced.json().error.param, 'tool_choice')
  t.equal(up.received.length, 1)

  // Codex replays its own items with store:false: function_call and its output, plus reasoning it cannot use.
  up.handle((_req, res) => sendJson(res, completion({ content: 'found it' })))
  const replay = await app.inject({
    method: 'POST', url: '/v1/responses', headers: auth,
    payload: {
      model: 'm', store: false,
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'search the docs' }] },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'opaque' },
        { type: 'function_call', call_id: 'call_ns1', name: 'lookup', namespace: 'mcp__docs', arguments: '{"q":"switchyard"}' },
        { type: 'function_call_output', call_id: 'call_ns1', output: 'Switchyard is a gateway.' },
        { type: 'web_search_call', id: 'ws_1', status: 'completed' },
      ],
    },
  })
  t.equal(replay.statusCode, 200)
  t.equal(replay.json().output[0].content[0].text, 'found it')
  const replayed = up.received[1]!.body as any
  t.same(replayed.messages, [
    { role: 'user', content: 'search the docs' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_ns1', type: 'function', function: { name: 'mcp__docs__lookup', arguments: '{"q":"switchyard"}' } }] },
    { role: 'tool', tool_call_id: 'call_ns1', content: 'Switchyard is a gateway.' },
  ])
  t.equal(await app.db.storedResponse.count(), 0)
})
