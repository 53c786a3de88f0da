import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import type { ChatCompletionChunk, ChatCompletionRequest } from '../../lib/openai/types.js'
import { anthropic } from '../../lib/providers/anthropic/index.js'
import { anthropicError } from '../../lib/providers/anthropic/errors.js'
import { anthropicRequest } from '../../lib/providers/anthropic/request.js'
import { anthropicResponse, finishReason } from '../../lib/providers/anthropic/response.js'
import { AnthropicStreamTranslator } from '../../lib/providers/anthropic/stream.js'
import { UpstreamError, type ErrorInfo, type ProviderSettings, type TranslateContext } from '../../lib/providers/types.js'
import { SseParser, type SseEvent } from '../../lib/sse.js'
import { startMockAnthropic } from '../mocks/anthropic.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'anthropic')
const ctx: TranslateContext = { upstreamModel: 'claude-sonnet-4-5', requestId: 'req_test', created: 1736000000 }

const fixture = <T>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T
const fixtureNames = (prefix: string) =>
  readdirSync(FIXTURES)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort()

const translate = (body: Partial<ChatCompletionRequest>, extra: Partial<TranslateContext> = {}) =>
  JSON.parse(anthropicRequest({ model: 'm', messages: [], ...body } as ChatCompletionRequest, { ...ctx, ...extra }))

function upstreamErrorInfo(fn: () => unknown): ErrorInfo | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof UpstreamError) return err.info
    throw err
  }
  return undefined
}

// ---------------------------------------------------------------- requests

test('request fixtures', async (t) => {
  const names = fixtureNames('request-')
  t.ok(names.length >= 4, 'request fixtures present')
  for (const name of names) {
    const f = fixture<{ openai: ChatCompletionRequest; anthropic: unknown; ctx?: Partial<TranslateContext> }>(name)
    const text = anthropicRequest(f.openai, { ...ctx, ...f.ctx })
    t.equal(typeof text, 'string', `${name}: JSON text`)
    t.strictSame(JSON.parse(text), f.anthropic, name)
  }
})

test('max_tokens falls back to 4096 without a client or ctx value', async (t) => {
  const out = translate({ messages: [{ role: 'user', content: 'hi' }] })
  t.strictSame(out, { model: 'claude-sonnet-4-5', max_tokens: 4096, messages: [{ role: 'user', content: 'hi' }] })
})

test('tool_choice and parallel_tool_calls', async (t) => {
  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }]
  const messages = [{ role: 'user' as const, content: 'hi' }]
  const choice = (body: Partial<ChatCompletionRequest>) => translate({ messages, tools, ...body }).tool_choice
  t.strictSame(choice({ tool_choice: 'auto' }), { type: 'auto' })
  t.strictSame(choice({ tool_choice: 'required' }), { type: 'any' })
  t.strictSame(choice({ tool_choice: 'none' }), { type: 'none' })
  t.strictSame(choice({ tool_choice: 'none', parallel_tool_calls: false }), { type: 'none' })
  t.strictSame(choice({ tool_choice: { type: 'function', function: { name: 'get_weather' } } }), { type: 'tool', name: 'get_weather' })
  t.strictSame(choice({ tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false }), {
    type: 'tool',
    name: 'get_weather',
    disable_parallel_tool_use: true,
  })
  t.strictSame(choice({ parallel_tool_calls: false }), { type: 'auto', disable_parallel_tool_use: true })
  t.equal(choice({}), undefined)
  t.equal(choice({ parallel_tool_calls: true }), undefined)
  const noTools = translate({ messages, tool_choice: 'auto' })
  t.equal(noTools.tools, undefined)
  t.equal(noTools.tool_choice, undefined, 'tool_choice is dropped when no tools are sent')
})

test('tool call arguments', async (t) => {
  const withArgs = (args: string) => ({
    messages: [
      { role: 'user' as const, content: 'hi' },
      { role: 'assistant' as const, content: null, tool_calls: [{ id: 'toolu_1', type: 'function' as const, function: { name: 'f', arguments: args } }] },
    ],
  })
  t.throws(() => translate(withArgs('{"city": "Par')), { message: 'messages[1].tool_calls[0].function.arguments is not valid JSON' })
  t.throws(() => translate(withArgs('[1,2]')), { message: 'messages[1].tool_calls[0].function.arguments must be a JSON object' })
  t.strictSame(translate(withArgs('')).messages[1], {
    role: 'assistant',
    content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }],
  })
})

test('request errors name the offending field', async (t) => {
  const user = (content: unknown) => ({ messages: [{ role: 'user' as const, content: content as string }] })
  t.throws(() => translate(user([{ type: 'text', text: 'x' }, { type: 'input_audio', input_audio: {} }])), {
    message: "messages[0].content[1].type 'input_audio' is not supported by the Anthropic provider",
  })
  t.throws(() => translate(user([{ type: 'image_url', image_url: { url: 'data:image/png,rawbytes' } }])), {
    message: 'messages[0].content[0].image_url.url must be a base64 data URL (data:<media type>;base64,<data>)',
  })
  t.throws(() => translate(user([{ type: 'image_url', image_url: { url: 'ftp://host/cat.png' } }])), {
    message: 'messages[0].content[0].image_url.url must be a data: or http(s) URL',
  })
  t.throws(() => translate({ messages: [{ role: 'tool', content: 'x' }] }), {
    message: 'messages[0].tool_call_id is required on tool messages',
  })
  t.throws(() => translate({ messages: [{ role: 'function', content: 'x', name: 'f' }] }), {
    message: "messages[0].role 'function' is not supported by the Anthropic provider",
  })
  t.throws(() => translate({ messages: [{ role: 'user', content: 'x' }], n: 2 }), { message: 'n > 1 is not supported by the Anthropic provider' })
})

test('empty text is dropped and the remaining turns still alternate', async (t) => {
  const out = translate({
    messages: [
      { role: 'user', content: 'one' },
      { role: 'assistant', content: '' },
      { role: 'user', content: 'two' },
    ],
  })
  t.strictSame(out.messages, [{ role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] }])
})

// ---------------------------------------------------------------- responses

test('response fixtures', async (t) => {
  const names = fixtureNames('response-')
  t.ok(names.length >= 5, 'response fixtures present')
  for (const name of names) {
    const f = fixture<{ anthropic: unknown; openai: unknown }>(name)
    t.strictSame(anthropicResponse(f.anthropic, ctx), f.openai, name)
  }
})

test('stop_reason -> finish_reason', async (t) => {
  const table: Array<[string | null, string | null]> = [
    ['end_turn', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['stop_sequence', 'stop'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'stop'],
    ['model_context_window_exceeded', 'length'],
    ['some_future_reason', 'stop'],
    [null, null],
  ]
  t.strictSame(
    table.map(([reason]) => [reason, finishReason(reason)]),
    table,
  )
})

test('error-shaped and unknown response bodies raise UpstreamError', async (t) => {
  t.strictSame(
    upstreamErrorInfo(() => anthropicResponse({ type: 'error', error: { type: 'api_error', message: 'Internal server error' } }, ctx)),
    { status: 500, type: 'server_error', code: 'api_error', message: 'Internal server error', param: null },
  )
  t.strictSame(upstreamErrorInfo(() => anthropicResponse({ hello: 'world' }, ctx)), {
    status: 502,
    type: 'upstream_error',
    code: null,
    message: 'Anthropic returned a response that is not a message',
    param: null,
  })
})

// ---------------------------------------------------------------- streams

interface StreamFixture {
  events: Array<{ event: string; data: unknown }>
  chunks: ChatCompletionChunk[]
  finish?: ChatCompletionChunk[]
  error?: ErrorInfo
  done: boolean
}

test('stream fixtures', async (t) => {
  const names = fixtureNames('stream-')
  t.ok(names.length >= 3, 'stream fixtures present')
  for (const name of names) {
    const f = fixture<StreamFixture>(name)
    const translator = new AnthropicStreamTranslator(ctx)
    const chunks: ChatCompletionChunk[] = []
    let error: ErrorInfo | undefined
    for (const e of f.events) {
      try {
        chunks.push(...translator.push({ event: e.event, data: JSON.stringify(e.data) }))
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err
        error = err.info
        break
      }
    }
    t.strictSame(chunks, f.chunks, `${name}: chunks`)
    t.strictSame(error, f.error, `${name}: error`)
    t.equal(translator.done, f.done, `${name}: done`)
    if (f.finish) t.strictSame(translator.finish(), f.finish, `${name}: finish`)
  }
})

test('chat.stream from the adapter returns a working translator', async (t) => {
  const translator = anthropic.chat!.stream(ctx, { model: 'm', messages: [] })
  t.strictSame(translator.finish(), [], 'no usage before message_start')
  const f = fixture<StreamFixture>('stream-text.json')
  const out = f.events.flatMap((e) => translator.push({ event: e.event, data: JSON.stringify(e.data) }))
  t.strictSame(out, f.chunks)
  t.strictSame(translator.push({ event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"late"}}' }), [], 'events after message_stop are ignored')
})

test('a non-JSON stream event raises a 502 UpstreamError', async (t) => {
  const translator = new AnthropicStreamTranslator(ctx)
  t.strictSame(upstreamErrorInfo(() => translator.push({ event: 'content_block_delta', data: '{"type":' })), {
    status: 502,
    type: 'upstream_error',
    code: null,
    message: 'Anthropic stream: event content_block_delta is not JSON',
    param: null,
  })
})

test('raw SSE bytes in odd-sized pieces', async (t) => {
  const raw = readFileSync(join(FIXTURES, 'stream-tools.sse'))
  for (const size of [1, 2, 3, 7, 13, 61, raw.length]) {
    const parser = new SseParser()
    const translator = new AnthropicStreamTranslator(ctx)
    const chunks: ChatCompletionChunk[] = []
    const feed = (events: SseEvent[]) => events.forEach((e) => chunks.push(...translator.push(e)))
    for (let i = 0; i < raw.length; i += size) feed(parser.push(raw.subarray(i, i + size)))
    feed(parser.end())
    chunks.push(...translator.finish())

    let content = ''
    const calls: Array<{ id?: string; name?: string; arguments: string }> = []
    const finishReasons: unknown[] = []
    for (const chunk of chunks) {
      t.equal(chunk.id, 'msg_01RawSse')
      for (const choice of chunk.choices) {
        content += choice.delta.content ?? ''
        for (const call of choice.delta.tool_calls ?? []) {
          const slot = (calls[call.index] ??= { arguments: '' })
          if (call.id) slot.id = call.id
          if (call.function?.name) slot.name = call.function.name
          slot.arguments += call.function?.arguments ?? ''
        }
        if (choice.finish_reason) finishReasons.push(choice.finish_reason)
      }
    }
    t.equal(content, 'Let me look that up — café ☕ weather in Zürich.', `content, pieces of ${size}`)
    t.strictSame(
      calls.map((c) => ({ id: c.id, name: c.name, input: JSON.parse(c.arguments) })),
      [
        { id: 'toolu_01RawA', name: 'get_forecast', input: { city: 'Zürich', days: 3 } },
        { id: 'toolu_01RawB', name: 'get_time', input: { tz: 'Europe/Zurich' } },
      ],
      `tool calls, pieces of ${size}`,
    )
    t.strictSame(finishReasons, ['tool_calls'])
    t.strictSame(chunks[chunks.length - 1]!.usage, {
      prompt_tokens: 1810,
      completion_tokens: 71,
      total_tokens: 1881,
      prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 1500 },
    })
    t.equal(translator.done, true)
  }
})

// ---------------------------------------------------------------- errors

test('error fixtures', async (t) => {
  const { cases } = fixture<{
    cases: Array<{ name: string; status: number; headers: Record<string, string>; body: string; expected: ErrorInfo }>
  }>('errors.json')
  t.ok(cases.length >= 10)
  for (const c of cases) t.strictSame(anthropicError(c.status, c.body, c.headers), c.expected, c.name)
  t.equal(anthropic.error, anthropicError)
})

// ---------------------------------------------------------------- adapter

test('endpoint', async (t) => {
  const provider: ProviderSettings = { name: 'claude', type: 'anthropic', apiKey: 'sk-ant-test' }
  t.strictSame(anthropic.endpoint('chat', provider, 'claude-sonnet-4-5', false), {
    url: 'https://api.anthropic.com/v1/messages',
    headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' },
  })
  const custom = { ...provider, baseUrl: 'https://proxy.example/anthropic/v1/', apiVersion: '2024-01-01', headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } }
  t.strictSame(anthropic.endpoint('chat', custom, 'claude-sonnet-4-5', true), {
    url: 'https://proxy.example/anthropic/v1/messages',
    headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2024-01-01', 'anthropic-beta': 'prompt-caching-2024-07-31' },
  })
  t.equal(anthropic.endpoint('chat', { ...provider, baseUrl: 'http://127.0.0.1:9999' }, 'm', false).url, 'http://127.0.0.1:9999/v1/messages')
  t.throws(() => anthropic.endpoint('embeddings', provider, 'm', false), /Anthropic has no embeddings API/)
  t.equal(anthropic.type, 'anthropic')
  t.equal(anthropic.embeddings, undefined)
})

// ---------------------------------------------------------------- mock upstream over real HTTP

test('mock Anthropic server round trips through the translators', async (t) => {
  const upstream = await startMockAnthropic({ apiKey: 'k-test' })
  t.teardown(() => upstream.close())
  const provider: ProviderSettings = { name: 'mock', type: 'anthropic', baseUrl: upstream.url, apiKey: 'k-test' }
  const call = async (body: ChatCompletionRequest, settings = provider) => {
    const ep = anthropic.endpoint('chat', settings, 'claude-mock', body.stream === true)
    return fetch(ep.url, {
      method: 'POST',
      headers: { ...ep.headers, 'content-type': 'application/json' },
      body: anthropic.chat!.request(body, { ...ctx, upstreamModel: 'claude-mock' }),
    })
  }

  // Non-streaming echo.
  const res = await call({ model: 'x', messages: [{ role: 'user', content: 'hello mock' }] })
  t.equal(res.status, 200)
  const completion = anthropic.chat!.response(await res.json(), ctx)
  t.equal(completion.choices[0]!.message.content, 'echo: hello mock')
  t.equal(completion.choices[0]!.finish_reason, 'stop')
  t.equal(upstream.requests[0]!.headers['anthropic-version'], '2023-06-01')
  t.strictSame(upstream.requests[0]!.body.messages, [{ role: 'user', content: 'hello mock' }])

  // Streamed tool call, parsed with the gateway's own SSE parser.
  const streamed = await call({
    model: 'x',
    stream: true,
    messages: [{ role: 'user', content: 'weather?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
  })
  t.match(streamed.headers.get('content-type'), /^text\/event-stream/)
  const parser = new SseParser()
  const translator = anthropic.chat!.stream(ctx, { model: 'x', messages: [] })
  let args = ''
  let finish: unknown
  for await (const bytes of streamed.body!) {
    for (const ev of parser.push(bytes)) {
      for (const chunk of translator.push(ev)) {
        args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? ''
        finish = chunk.choices[0]?.finish_reason ?? finish
      }
    }
  }
  t.equal(args, '{"city":"Paris"}')
  t.equal(finish, 'tool_calls')
  t.equal(translator.done, true)

  // Wrong key -> Anthropic 401, mapped.
  const denied = await call({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }, { ...provider, apiKey: 'nope' })
  t.equal(denied.status, 401)
  t.strictSame(anthropic.error(denied.status, await denied.text(), {}), {
    status: 401,
    type: 'authentication_error',
    code: 'authentication_error',
    message: 'invalid x-api-key',
    param: null,
  })

  // Scripted overload with retry-after.
  upstream.script(() => ({ kind: 'error', status: 529, type: 'overloaded_error', message: 'Overloaded', headers: { 'retry-after': '2' } }))
  const overloaded = await call({ model: 'x', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(overloaded.status, 529)
  t.strictSame(anthropic.error(overloaded.status, await overloaded.text(), { 'retry-after': overloaded.headers.get('retry-after') ?? undefined }), {
    status: 503,
    type: 'server_error',
    code: 'overloaded_error',
    message: 'Overloaded',
    param: null,
    retryAfterSec: 2,
  })

  // A cut stream ends with a network error before message_stop.
  upstream.script(() => ({ kind: 'cut' }))
  const cut = await call({ model: 'x', stream: true, messages: [{ role: 'user', content: 'one two three four five' }] })
  const cutTranslator = anthropic.chat!.stream(ctx, { model: 'x', messages: [] })
  const cutParser = new SseParser()
  let partial = ''
  await t.rejects(
    (async () => {
      for await (const bytes of cut.body!) {
        for (const ev of cutParser.push(bytes)) for (const chunk of cutTranslator.push(ev)) partial += chunk.choices[0]?.delta.content ?? ''
      }
    })(),
  )
  t.equal(partial, 'echo: one two ', 'the first half of the events arrived before the cut')
  t.equal(cutTranslator.done, false)
  t.equal(upstream.requests.length, 5)
})
