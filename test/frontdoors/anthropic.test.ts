// Golden tests for the Anthropic Messages front door: request, response and
// stream translation, error mapping, count_tokens and the native usage readers.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { countPromptTokens } from '../../lib/cost/tokens.js'
import { errors, GatewayError } from '../../lib/errors.js'
import {
  anthropicError,
  AnthropicSseUsage,
  anthropicMessageUsage,
  chatToMessages,
  countTokens,
  messagesToChat,
  MessagesStreamTranslator,
  stopReason,
  thinkingEffort,
  type Message,
  type MessagesRequest,
  type MessagesStreamContext,
} from '../../lib/frontdoors/anthropic/index.js'
import type { ChatCompletion, ChatCompletionChunk, Usage } from '../../lib/openai/types.js'
import { SseParser } from '../../lib/sse.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'frontdoors')
const read = <T>(...parts: string[]): T => JSON.parse(readFileSync(join(ROOT, ...parts), 'utf8')) as T
const names = (prefix: string) => readdirSync(join(ROOT, 'anthropic')).filter((f) => f.startsWith(prefix) && f.endsWith('.json')).sort()
const chunksOf = (name: string) => read<{ chunks: ChatCompletionChunk[]; finishUsage?: Usage }>('chunks', `${name}.json`)

function gatewayError(fn: () => unknown): GatewayError {
  try {
    fn()
  } catch (err) {
    if (err instanceof GatewayError) return err
    throw err
  }
  throw new Error('expected a GatewayError')
}

/** Parses Anthropic SSE text; every event's name must equal its data.type. */
function parseEvents(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  const parser = new SseParser()
  return [...parser.push(text), ...parser.end()].map((e) => ({ event: String(e.event), data: JSON.parse(e.data) as Record<string, unknown> }))
}

/** Rebuilds the message the way a client does, from the events alone. */
function accumulate(events: Array<{ event: string; data: Record<string, unknown> }>): Message {
  let message: Message | undefined
  const json: string[] = []
  for (const { data } of events) {
    const d = data as Record<string, never>
    if (data.type === 'message_start') message = structuredClone(d.message as Message)
    else if (data.type === 'content_block_start') message!.content[d.index] = structuredClone(d.content_block)
    else if (data.type === 'content_block_delta') {
      const block = message!.content[d.index] as unknown as Record<string, string>
      const delta = d.delta as Record<string, string>
      if (delta.type === 'text_delta') block.text += delta.text
      if (delta.type === 'thinking_delta') block.thinking += delta.thinking
      if (delta.type === 'input_json_delta') json[d.index] = (json[d.index] ?? '') + delta.partial_json
    } else if (data.type === 'content_block_stop') {
      const block = message!.content[d.index]!
      if (block.type === 'tool_use') block.input = JSON.parse(json[d.index] || '{}') as Record<string, unknown>
    } else if (data.type === 'message_delta') {
      const delta = d.delta as Record<string, never>
      message!.stop_reason = delta.stop_reason
      message!.stop_sequence = delta.stop_sequence
      message!.usage = d.usage
    }
  }
  return message!
}

function runStream(chunks: string, ctx: MessagesStreamContext): { text: string; translator: MessagesStreamTranslator } {
  const { chunks: list, finishUsage } = chunksOf(chunks)
  const translator = new MessagesStreamTranslator(ctx)
  let text = ''
  for (const chunk of list) text += translator.push(chunk)
  text += translator.finish(finishUsage)
  return { text, translator }
}

// ---------------------------------------------------------------- requests

test('request fixtures: Messages -> chat', async (t) => {
  const files = names('request-')
  t.ok(files.length >= 6, 'request fixtures present')
  for (const name of files) {
    const f = read<{ request: MessagesRequest; chat: unknown; context: unknown; dropped: string[] }>('anthropic', name)
    const out = messagesToChat(f.request)
    t.strictSame(out.chat, f.chat, `${name}: chat`)
    t.strictSame(out.context, f.context, `${name}: context`)
    t.strictSame(out.dropped.sort(), [...f.dropped].sort(), `${name}: dropped`)
  }
})

test('thinking budgets map to reasoning_effort', async (t) => {
  const table: Array<[number, string]> = [[1024, 'low'], [4000, 'low'], [8191, 'low'], [8192, 'medium'], [10000, 'medium'], [16383, 'medium'], [16384, 'high'], [31999, 'high']]
  for (const [budget, effort] of table) t.equal(thinkingEffort(budget), effort, `${budget} -> ${effort}`)
  const base: MessagesRequest = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }
  const disabled = messagesToChat({ ...base, thinking: { type: 'disabled' } })
  t.equal(disabled.chat.reasoning_effort, undefined, 'disabled: no effort')
  t.equal(disabled.context.thinking, false)
  const adaptive = messagesToChat({ ...base, thinking: { type: 'adaptive' } })
  t.equal(adaptive.chat.reasoning_effort, undefined, 'adaptive: the backend decides')
  t.equal(adaptive.context.thinking, true, 'adaptive: thinking blocks are returned')
  t.equal(messagesToChat({ ...base, output_config: { effort: 'low' }, thinking: { type: 'enabled', budget_tokens: 20000 } }).chat.reasoning_effort, 'low', 'output_config.effort wins')
})

test('tool_choice mapping', async (t) => {
  const tools = [{ name: 'f', input_schema: { type: 'object' } }]
  const base: MessagesRequest = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], tools }
  t.equal(messagesToChat({ ...base, tool_choice: { type: 'auto' } }).chat.tool_choice, 'auto')
  t.equal(messagesToChat({ ...base, tool_choice: { type: 'none' } }).chat.tool_choice, 'none')
  t.equal(messagesToChat({ ...base, tool_choice: { type: 'any' } }).chat.tool_choice, 'required')
  t.strictSame(messagesToChat({ ...base, tool_choice: { type: 'tool', name: 'f' } }).chat.tool_choice, { type: 'function', function: { name: 'f' } })
  const auto = messagesToChat({ ...base, tool_choice: { type: 'auto', disable_parallel_tool_use: true } })
  t.equal(auto.chat.parallel_tool_calls, false)
  t.equal(messagesToChat(base).chat.tool_choice, undefined, 'absent stays absent')
  const serverOnly = messagesToChat({ ...base, tools: [{ type: 'web_search_20250305', name: 'web_search' }], tool_choice: { type: 'auto' } })
  t.equal(serverOnly.chat.tools, undefined, 'no tools left')
  t.equal(serverOnly.chat.tool_choice, undefined, 'no tool_choice without tools')
})

test('what is refused: 400 naming the field', async (t) => {
  const user = (content: unknown): MessagesRequest => ({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: content as string }] })
  const cases: Array<[string, MessagesRequest, RegExp, string?]> = [
    ['Files API image', user([{ type: 'image', source: { type: 'file', file_id: 'file_1' } }]), /source.type 'file'/, 'messages[0].content[0].source.type'],
    ['unknown block type', user([{ type: 'hologram', data: 'x' }]), /type 'hologram' is not supported/, 'messages[0].content[0].type'],
    ['document by url', user([{ type: 'document', source: { type: 'url', url: 'https://x/a.pdf' } }]), /source.type 'url'/],
    ['image in a system message', { model: 'm', max_tokens: 1, messages: [{ role: 'system', content: [{ type: 'image', source: { type: 'url', url: 'https://x' } }] }] }, /may only contain text/],
    ['unknown role', { model: 'm', max_tokens: 1, messages: [{ role: 'tool' as 'user', content: 'x' }] }, /role 'tool'/],
    ['Anthropic-defined client tool', { ...user('hi'), tools: [{ type: 'bash_20250124', name: 'bash' }] }, /needs a Claude model/, 'tools[0].type'],
    ['unknown tool type', { ...user('hi'), tools: [{ type: 'teleport_20300101', name: 't' }] }, /type 'teleport_20300101'/],
    ['forcing a server tool', { ...user('hi'), tools: [{ type: 'web_search_20250305', name: 'web_search' }], tool_choice: { type: 'tool', name: 'web_search' } }, /forces server tool 'web_search'/],
    ['any with only server tools', { ...user('hi'), tools: [{ type: 'web_search_20250305', name: 'web_search' }], tool_choice: { type: 'any' } }, /needs at least one tool/],
    ['thinking without budget', { ...user('hi'), thinking: { type: 'enabled' } as never }, /budget_tokens/],
  ]
  for (const [label, req, message, param] of cases) {
    const err = gatewayError(() => messagesToChat(req))
    t.equal(err.statusCode, 400, `${label}: 400`)
    t.equal(err.type, 'invalid_request_error', `${label}: type`)
    t.match(err.message, message, `${label}: message`)
    if (param) t.equal(err.param, param, `${label}: param`)
  }
  const strict = gatewayError(() =>
    messagesToChat({ ...user('hi'), tools: [{ type: 'web_fetch_20250910', name: 'web_fetch' }] }, { serverTools: 'refuse' }),
  )
  t.match(strict.message, /server tool 'web_fetch_20250910' is run by Anthropic/, "serverTools: 'refuse'")
  t.match(gatewayError(() => messagesToChat({ ...user('hi'), mcp_servers: [{ type: 'url', url: 'https://mcp' }] }, { serverTools: 'refuse' })).message, /mcp_servers/)
  t.strictSame(messagesToChat({ ...user('hi'), mcp_servers: [{ type: 'url', url: 'https://mcp' }] }).dropped, ['mcp_servers'], 'mcp_servers dropped by default')
})

test('assistant turns with only dropped blocks disappear; empty text is not sent', async (t) => {
  const out = messagesToChat({
    model: 'm',
    max_tokens: 10,
    messages: [
      { role: 'user', content: [{ type: 'text', text: '' }, { type: 'text', text: 'hi' }] },
      { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'x' }] },
      { role: 'user', content: 'again' },
    ],
  })
  t.strictSame(out.chat.messages, [{ role: 'user', content: 'hi' }, { role: 'user', content: 'again' }])
})

// ---------------------------------------------------------------- responses

test('response fixtures: chat -> Message', async (t) => {
  const files = names('response-')
  t.ok(files.length >= 7, 'response fixtures present')
  for (const name of files) {
    const f = read<{ ctx: MessagesStreamContext; chat: ChatCompletion; message: Message }>('anthropic', name)
    t.strictSame(chatToMessages(f.chat, f.ctx), f.message, name)
  }
})

test('stop_reason table', async (t) => {
  t.equal(stopReason('stop', null, false), 'end_turn')
  t.equal(stopReason('stop', 'END', false), 'stop_sequence')
  t.equal(stopReason('length', null, false), 'max_tokens')
  t.equal(stopReason('tool_calls', null, false), 'tool_use')
  t.equal(stopReason('function_call', null, false), 'tool_use')
  t.equal(stopReason('content_filter', null, false), 'refusal')
  t.equal(stopReason('stop', null, true), 'refusal')
  t.equal(stopReason(null, null, false), 'end_turn', 'no finish reason reads as a normal end')
  const chat: ChatCompletion = { id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop', stop_reason: 'NOT-ASKED' }] as ChatCompletion['choices'] }
  t.equal(chatToMessages(chat, { model: 'm', thinking: false, stopSequences: ['END'] }).stop_reason, 'end_turn', 'a stop_reason that is not one of the request sequences is ignored')
  t.match(chatToMessages(chat, { model: 'm', thinking: false, stopSequences: [] }).id, /^msg_[0-9A-Za-z]{24}$/, 'fresh msg_ id')
})

// ---------------------------------------------------------------- streams

test('stream golden: the exact event sequence of a text answer', async (t) => {
  const f = read<{ chunks: string; ctx: MessagesStreamContext; events: Array<[string, unknown]> }>('anthropic', 'stream-text.json')
  const { text } = runStream(f.chunks, f.ctx)
  t.strictSame(parseEvents(text).map((e) => [e.event, e.data]), f.events)
  t.ok(text.startsWith('event: message_start\ndata: {'), 'event line first, then data')
  t.ok(text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n'), 'ends with message_stop and a blank line')
})

test('stream cases: event order, and the deltas rebuild the final message', async (t) => {
  const { cases } = read<{ cases: Array<{ chunks: string; ctx: MessagesStreamContext; types: string[]; message: Message }> }>('anthropic', 'streams.json')
  for (const c of cases) {
    const label = `${c.chunks} (thinking ${c.ctx.thinking})`
    const { text, translator } = runStream(c.chunks, c.ctx)
    const events = parseEvents(text)
    t.strictSame(events.map((e) => e.event), c.types, `${label}: event types`)
    for (const e of events) t.equal(e.data.type, e.event, `${label}: ${e.event} names its data`)
    const rebuilt = accumulate(events)
    t.strictSame(rebuilt, c.message, `${label}: rebuilt message`)
    t.strictSame(translator.message, c.message, `${label}: the translator's own record agrees`)
    const starts = events.filter((e) => e.event === 'content_block_start').map((e) => e.data.index)
    t.strictSame(starts, starts.map((_, i) => i), `${label}: block indexes count from 0 without gaps`)
  }
})

test('stream: usage from the stream wins over the one given to finish()', async (t) => {
  const translator = new MessagesStreamTranslator({ model: 'm', thinking: false, stopSequences: [], id: 'msg_u' })
  for (const chunk of chunksOf('text').chunks) translator.push(chunk)
  const events = parseEvents(translator.finish({ prompt_tokens: 999, completion_tokens: 999, total_tokens: 1998 }))
  t.strictSame(events.find((e) => e.event === 'message_delta')?.data.usage, { input_tokens: 25, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 })
})

test('stream: a stop sequence named by the backend', async (t) => {
  const translator = new MessagesStreamTranslator({ model: 'm', thinking: false, stopSequences: ['###'], id: 'msg_s' })
  translator.push({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'a' }, finish_reason: null }] })
  translator.push({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop', stop_reason: '###' } as ChatCompletionChunk['choices'][number]] })
  const delta = parseEvents(translator.finish()).find((e) => e.event === 'message_delta')!.data.delta
  t.strictSame(delta, { stop_reason: 'stop_sequence', stop_sequence: '###' })
})

test('stream: an empty answer still has a well-formed message', async (t) => {
  const translator = new MessagesStreamTranslator({ model: 'm', thinking: false, stopSequences: [], id: 'msg_e' })
  const events = parseEvents(translator.finish())
  t.strictSame(events.map((e) => e.event), ['message_start', 'message_delta', 'message_stop'])
})

test('stream: a failure mid-stream becomes an error event and ends the stream', async (t) => {
  const translator = new MessagesStreamTranslator({ model: 'm', thinking: false, stopSequences: [], id: 'msg_err' })
  let text = translator.push(chunksOf('text').chunks[1]!)
  text += translator.error(errors.allDeploymentsCoolingDown('claude', 12))
  const events = parseEvents(text)
  t.strictSame(events.map((e) => e.event), ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'error'])
  t.strictSame(events.at(-1)!.data, { type: 'error', error: { type: 'overloaded_error', message: 'Every deployment of "claude" is cooling down after repeated failures; retry in 12 s.' } })
  t.equal(translator.finish(), '', 'nothing after the error')
  t.equal(translator.push(chunksOf('text').chunks[2]!), '')
})

test('stream: a tool call resumed after another block started is a bad upstream response', async (t) => {
  const translator = new MessagesStreamTranslator({ model: 'm', thinking: false, stopSequences: [], id: 'msg_i' })
  const tool = (index: number, args: string, id?: string): ChatCompletionChunk => ({
    id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm',
    choices: [{ index: 0, delta: { tool_calls: [{ index, ...(id ? { id, type: 'function' as const, function: { name: 'f', arguments: args } } : { function: { arguments: args } }) }] }, finish_reason: null }],
  })
  translator.push(tool(0, '{"a":', 'call_a'))
  translator.push(tool(1, '{"b":1}', 'call_b'))
  const err = gatewayError(() => translator.push(tool(0, '1}')))
  t.equal(err.statusCode, 502)
  t.equal(err.code, 'bad_upstream_response')
  t.equal(translator.push(tool(0, '')), '', 'an empty fragment for a closed call is harmless')
})

// ---------------------------------------------------------------- errors

test('error mapping: gateway errors -> Anthropic types and statuses', async (t) => {
  const table: Array<[string, GatewayError, number, string]> = [
    ['invalid body', errors.invalidBody('bad'), 400, 'invalid_request_error'],
    ['invalid JSON', errors.invalidJson('x'), 400, 'invalid_request_error'],
    ['missing key', errors.missingKey(), 401, 'authentication_error'],
    ['invalid key', errors.invalidKey(), 401, 'authentication_error'],
    ['budget exceeded', errors.budgetExceeded('over budget'), 402, 'billing_error'],
    ['model not allowed', errors.modelNotAllowed('m'), 403, 'permission_error'],
    ['model not found', errors.modelNotFound('m'), 404, 'not_found_error'],
    ['body too large', errors.bodyTooLarge(10), 413, 'request_too_large'],
    ['unsupported media type', errors.unsupportedMediaType('text/plain'), 415, 'invalid_request_error'],
    ['rate limited', errors.rateLimited('slow down', { 'retry-after': '3' }), 429, 'rate_limit_error'],
    ['internal', errors.internal(), 500, 'api_error'],
    ['upstream unreachable', errors.upstreamUnreachable('reset'), 500, 'api_error'],
    ['bad upstream response', errors.upstreamBadResponse('x'), 500, 'api_error'],
    ['no deployment', errors.noDeployment('m'), 529, 'overloaded_error'],
    ['all cooling down', errors.allDeploymentsCoolingDown('m', 5), 529, 'overloaded_error'],
    ['shedding', errors.overloaded(2), 529, 'overloaded_error'],
    ['upstream timeout', errors.upstreamTimeout('slow'), 504, 'timeout_error'],
    ['Anthropic upstream overloaded (code)', new GatewayError({ status: 503, type: 'server_error', code: 'overloaded_error', message: 'Overloaded' }), 529, 'overloaded_error'],
    ['Anthropic upstream billing (code)', new GatewayError({ status: 402, type: 'invalid_request_error', code: 'billing_error', message: 'no credit' }), 402, 'billing_error'],
    ['Gemini 503', new GatewayError({ status: 503, type: 'server_error', code: null, message: 'unavailable' }), 529, 'overloaded_error'],
    ['conflict', new GatewayError({ status: 409, type: 'invalid_request_error', code: null, message: 'conflict' }), 409, 'invalid_request_error'],
  ]
  for (const [label, err, status, type] of table) {
    const out = anthropicError(err)
    t.equal(out.status, status, `${label}: status`)
    t.strictSame(out.body, { type: 'error', error: { type, message: err.message } }, `${label}: body`)
  }
  t.equal(anthropicError(errors.rateLimited('x', { 'retry-after': '3' })).headers['retry-after'], '3', 'retry-after kept')
  t.equal(anthropicError(errors.allDeploymentsCoolingDown('m', 7)).headers['retry-after'], '7')
  t.equal(anthropicError({ status: 404, type: 'not_found_error', code: null, message: 'x' }).status, 404, 'a plain ErrorInfo fits too')
})

// ---------------------------------------------------------------- count_tokens

test('countTokens counts the translated request with the gateway rules', async (t) => {
  const req = { model: 'claude-sonnet-4-5', system: 'You are terse.', messages: [{ role: 'user' as const, content: 'Hello there' }] }
  // approximation: 3 fixed per message (x2) + 3 reply priming; chars "system" + "You are terse." + "user" + "Hello there" = 35 -> 9
  t.strictSame(countTokens(req), { input_tokens: 18, method: 'approximation' })
  const withTool = countTokens({ ...req, tools: [{ name: 'f', description: 'd', input_schema: { type: 'object' } }] })
  t.ok(withTool.input_tokens > 18, 'tool definitions count')
  const openai = countTokens(req, { providerType: 'openai', upstreamModel: 'gpt-4o' })
  t.equal(openai.method, 'tiktoken', 'an OpenAI deployment counts with its tokenizer')
  const { chat } = messagesToChat({ ...req, max_tokens: 1 })
  t.equal(openai.input_tokens, countPromptTokens(chat, 'openai', 'gpt-4o').tokens)
})

// ---------------------------------------------------------------- native usage

test('usage of a native Message body', async (t) => {
  const usage = anthropicMessageUsage(read('anthropic', 'native-message.json'))
  t.strictSame(usage, { prompt_tokens: 2012, completion_tokens: 6, total_tokens: 2018, prompt_tokens_details: { cached_tokens: 1800, cache_write_tokens: 200 } })
  t.equal(anthropicMessageUsage({ type: 'error', error: { type: 'api_error', message: 'x' } }), undefined)
})

test('usage of a native SSE stream, read as it passes in arbitrary slices', async (t) => {
  const bytes = readFileSync(join(ROOT, 'anthropic', 'native-stream.sse'))
  const expected = { prompt_tokens: 2520, completion_tokens: 130, total_tokens: 2650, prompt_tokens_details: { cached_tokens: 2048, cache_write_tokens: 0 } }
  for (const size of [1, 7, 64, bytes.length]) {
    const observer = new AnthropicSseUsage()
    for (let i = 0; i < bytes.length; i += size) observer.push(bytes.subarray(i, i + size))
    observer.end()
    t.strictSame(observer.usage, expected, `slices of ${size} bytes`)
    t.equal(observer.stopReason, 'end_turn')
  }
  const early = new AnthropicSseUsage()
  early.push(bytes.subarray(0, bytes.indexOf('event: content_block_start')))
  t.equal(early.usage?.completion_tokens, 1, 'message_start alone gives the input side')
  t.equal(new AnthropicSseUsage().usage, undefined)
})
