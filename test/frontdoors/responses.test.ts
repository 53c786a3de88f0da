// Golden tests for the OpenAI Responses front door: request, response and
// stream translation, and the native usage readers.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { errors, GatewayError } from '../../lib/errors.js'
import { sequentialIds } from '../../lib/frontdoors/ids.js'
import {
  chatToResponse,
  responsesToChat,
  ResponsesSseUsage,
  ResponsesStreamTranslator,
  responsesUsage,
  type InputItem,
  type OutputItem,
  type Response,
  type ResponsesRequest,
  type ResponsesStreamContext,
} from '../../lib/frontdoors/responses/index.js'
import type { ChatCompletion, ChatCompletionChunk, ToolCall, Usage } from '../../lib/openai/types.js'
import { SseParser } from '../../lib/sse.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'frontdoors')
const read = <T>(...parts: string[]): T => JSON.parse(readFileSync(join(ROOT, ...parts), 'utf8')) as T
const names = (prefix: string) => readdirSync(join(ROOT, 'responses')).filter((f) => f.startsWith(prefix) && f.endsWith('.json')).sort()
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

function ctxFor(request: ResponsesRequest, extra: { id?: string; createdAt?: number } = {}): ResponsesStreamContext {
  return { ...responsesToChat(request).context, id: 'resp_test', createdAt: 1741570283, ...extra, ids: sequentialIds() }
}

function parseEvents(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  const parser = new SseParser()
  return [...parser.push(text), ...parser.end()].map((e) => ({ event: String(e.event), data: JSON.parse(e.data) as Record<string, unknown> }))
}

/** The non-streamed completion equivalent to a chunk sequence. */
function assemble(chunks: ChatCompletionChunk[], finishUsage?: Usage): ChatCompletion {
  let content = ''
  let reasoning = ''
  let finish: ChatCompletion['choices'][number]['finish_reason'] = null
  let usage: Usage | undefined
  const calls: ToolCall[] = []
  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage
    const choice = chunk.choices[0]
    if (!choice) continue
    const d = choice.delta as Record<string, unknown> & ChatCompletionChunk['choices'][number]['delta']
    if (typeof d.content === 'string') content += d.content
    if (typeof d.reasoning_content === 'string') reasoning += d.reasoning_content
    for (const tc of d.tool_calls ?? []) {
      calls[tc.index] ??= { id: tc.id ?? '', type: 'function', function: { name: tc.function?.name ?? '', arguments: '' } }
      calls[tc.index]!.function.arguments += tc.function?.arguments ?? ''
    }
    if (choice.finish_reason) finish = choice.finish_reason
  }
  const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: content === '' ? null : content }
  if (reasoning) message.reasoning_content = reasoning
  if (calls.length > 0) message.tool_calls = calls
  return { id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message, finish_reason: finish }], usage: usage ?? finishUsage }
}

function runStream(chunks: string, ctx: ResponsesStreamContext): { text: string; translator: ResponsesStreamTranslator } {
  const { chunks: list, finishUsage } = chunksOf(chunks)
  const translator = new ResponsesStreamTranslator(ctx)
  let text = ''
  for (const chunk of list) text += translator.push(chunk)
  text += translator.finish(finishUsage)
  return { text, translator }
}

// ---------------------------------------------------------------- requests

test('request fixtures: Responses -> chat', async (t) => {
  const files = names('request-')
  t.ok(files.length >= 5, 'request fixtures present')
  for (const name of files) {
    const f = read<{ request: ResponsesRequest; history?: InputItem[]; chat: unknown; context: unknown; dropped: string[] }>('responses', name)
    const out = responsesToChat(f.request, f.history ?? [])
    t.strictSame(out.chat, f.chat, `${name}: chat`)
    t.strictSame(out.context, f.context, `${name}: context`)
    t.strictSame(out.dropped.sort(), [...f.dropped].sort(), `${name}: dropped`)
  }
})

test('what is refused: 400 naming the field', async (t) => {
  const base: ResponsesRequest = { model: 'm', input: 'hi' }
  const items = (...input: unknown[]): ResponsesRequest => ({ model: 'm', input: input as InputItem[] })
  const cases: Array<[string, ResponsesRequest, RegExp, string?]> = [
    ['image by file_id', items({ role: 'user', content: [{ type: 'input_image', file_id: 'file-1', detail: 'auto' }] }), /only image_url images/, 'input[0].content[0].image_url'],
    ['file by id', items({ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }), /only inline file_data/],
    ['unknown part', items({ role: 'user', content: [{ type: 'input_audio', data: 'x' }] }), /type 'input_audio'/],
    ['unknown role', items({ role: 'tool', content: 'x' }), /role 'tool'/],
    ['item_reference', items({ type: 'item_reference', id: 'msg_1' }), /item_reference/],
    ['computer call in history', items({ type: 'computer_call', call_id: 'c', action: {} }), /type 'computer_call'/],
    ['local_shell tool', { ...base, tools: [{ type: 'local_shell' }] }, /speaks its protocol/, 'tools[0].type'],
    ['computer_use_preview tool', { ...base, tools: [{ type: 'computer_use_preview', display_width: 1024, display_height: 768, environment: 'browser' }] }, /speaks its protocol/],
    ['unknown tool type', { ...base, tools: [{ type: 'teleport' }] }, /type 'teleport'/],
    ['forcing a hosted tool', { ...base, tools: [{ type: 'web_search_preview' }], tool_choice: { type: 'web_search_preview' } }, /forces tool type 'web_search_preview'/],
    ['required with only hosted tools', { ...base, tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }], tool_choice: 'required' }, /needs at least one tool/],
    ['required without tools', { ...base, tool_choice: 'required' }, /needs at least one tool/],
    ['allowed_tools naming nothing runnable', { ...base, tools: [{ type: 'function', name: 'a' }], tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'web_search' }] } }, /names no tool/],
    ['background', { ...base, background: true }, /background/],
    ['conversation', { ...base, conversation: 'conv_1' }, /conversation/],
    ['prompt template', { ...base, prompt: { id: 'pmpt_1' } }, /prompt templates/],
    ['empty input', { model: 'm', input: [] }, /input is empty/],
    ['text.format unknown', { ...base, text: { format: { type: 'yaml' } as never } }, /text.format.type 'yaml'/],
  ]
  for (const [label, req, message, param] of cases) {
    const err = gatewayError(() => responsesToChat(req))
    t.equal(err.statusCode, 400, `${label}: 400`)
    t.match(err.message, message, `${label}: message`)
    if (param) t.equal(err.param, param, `${label}: param`)
  }
  const strict = gatewayError(() => responsesToChat({ ...base, tools: [{ type: 'web_search' }] }, [], { hostedTools: 'refuse' }))
  t.match(strict.message, /hosted tool 'web_search' runs on OpenAI's servers/, "hostedTools: 'refuse'")
  const dated = responsesToChat({ ...base, tools: [{ type: 'web_search_preview_2025_03_11' }, { type: 'image_generation' }, { type: 'mcp', server_label: 'x' }] })
  t.strictSame(dated.dropped.sort(), ['tools.image_generation', 'tools.mcp', 'tools.web_search_preview_2025_03_11'], 'hosted tools dropped and reported')
  t.equal(dated.chat.tools, undefined)
})

test('hosted tool outputs in the history are dropped, the conversation around them kept', async (t) => {
  const out = responsesToChat({ model: 'm', input: 'and now?' }, [
    { role: 'user', content: 'search the news' },
    { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'news' } },
    { type: 'message', role: 'assistant', id: 'msg_1', status: 'completed', content: [{ type: 'output_text', text: 'Here is the news.', annotations: [] }] },
  ])
  t.strictSame(out.chat.messages, [
    { role: 'user', content: 'search the news' },
    { role: 'assistant', content: 'Here is the news.' },
    { role: 'user', content: 'and now?' },
  ])
  t.strictSame(out.dropped, ['input.web_search_call'])
})

test('an assistant message followed by its function calls is one chat message', async (t) => {
  const out = responsesToChat({ model: 'm', input: [
    { role: 'user', content: 'go' },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Running it.', annotations: [] }] },
    { type: 'function_call', call_id: 'call_1', name: 'shell', arguments: '{}' },
    { type: 'function_call_output', call_id: 'call_1', output: 'ok' },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Done.', annotations: [] }] },
  ] })
  t.strictSame(out.chat.messages, [
    { role: 'user', content: 'go' },
    { role: 'assistant', content: 'Running it.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'shell', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: 'ok' },
    { role: 'assistant', content: 'Done.' },
  ])
  const twoMessages = responsesToChat({ model: 'm', input: [
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'First.', annotations: [] }] },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Second.', annotations: [] }] },
    { role: 'user', content: 'ok' },
  ] })
  t.strictSame(twoMessages.chat.messages[0], { role: 'assistant', content: 'First.\n\nSecond.' }, 'consecutive assistant messages join with a blank line')
})

// ---------------------------------------------------------------- responses

test('response fixtures: chat -> Response', async (t) => {
  const files = names('response-')
  t.ok(files.length >= 6, 'response fixtures present')
  for (const name of files) {
    const f = read<{ request: ResponsesRequest; ctx: { id: string; createdAt: number }; chat: ChatCompletion; response: Response }>('responses', name)
    t.strictSame(chatToResponse(f.chat, ctxFor(f.request, f.ctx)), f.response, name)
  }
})

test('a fresh resp_ id and created_at when none is given', async (t) => {
  const ctx = responsesToChat({ model: 'm', input: 'x' }).context
  const chat: ChatCompletion = { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'y' }, finish_reason: 'stop' }] }
  const before = Math.floor(Date.now() / 1000)
  const response = chatToResponse(chat, ctx)
  t.match(response.id, /^resp_[0-9A-Za-z]{24}$/)
  t.match(response.output[0]!.id, /^msg_[0-9A-Za-z]{24}$/)
  t.ok(response.created_at >= before)
  t.equal(response.usage, null, 'no usage reported -> null')
})

// ---------------------------------------------------------------- streams

test('stream golden: the exact event sequence of a text answer', async (t) => {
  const f = read<{ chunks: string; request: ResponsesRequest; ctx: { id: string; createdAt: number }; events: Array<[string, unknown]> }>('responses', 'stream-text.json')
  const { text, translator } = runStream(f.chunks, ctxFor(f.request, f.ctx))
  t.strictSame(parseEvents(text).map((e) => [e.event, e.data]), f.events)
  t.strictSame(translator.response, (f.events.at(-1)![1] as { response: Response }).response, 'the final Response is the one sent last')
})

test('stream cases: order, sequence numbers, deltas that add up, and the same Response as without streaming', async (t) => {
  const { cases } = read<{ cases: Array<{ chunks: string; request: ResponsesRequest; types: string[]; status: string; output: OutputItem[] }> }>('responses', 'streams.json')
  for (const c of cases) {
    const { text, translator } = runStream(c.chunks, ctxFor(c.request))
    const events = parseEvents(text)
    t.strictSame(events.map((e) => e.event), c.types, `${c.chunks}: event types`)
    t.strictSame(events.map((e) => e.data.sequence_number), events.map((_, i) => i), `${c.chunks}: sequence numbers 0..n`)
    for (const e of events) t.equal(e.data.type, e.event, `${c.chunks}: ${e.event} names its data`)
    const final = translator.response
    t.equal(final.status, c.status, `${c.chunks}: status`)
    t.strictSame(final.output, c.output, `${c.chunks}: output`)
    // Deltas per item add up to what the .done events and the final items say.
    for (const [i, item] of final.output.entries()) {
      const deltas = events.filter((e) => e.data.output_index === i && String(e.event).endsWith('.delta')).map((e) => String(e.data.delta)).join('')
      const whole = item.type === 'message' ? item.content.map((p) => (p.type === 'output_text' ? p.text : p.refusal)).join('')
        : item.type === 'function_call' ? item.arguments
          : item.type === 'custom_tool_call' ? item.input
            : item.content.map((p) => p.text).join('')
      t.equal(deltas, whole, `${c.chunks}: deltas of output ${i} add up`)
    }
    const { chunks, finishUsage } = chunksOf(c.chunks)
    t.strictSame(final, chatToResponse(assemble(chunks, finishUsage), ctxFor(c.request)), `${c.chunks}: same Response as the non-streamed translation`)
  }
})

test('stream: a failure mid-stream sends error, then response.failed with what was produced', async (t) => {
  const translator = new ResponsesStreamTranslator(ctxFor({ model: 'm', input: 'x' }))
  let text = translator.push(chunksOf('text').chunks[1]!)
  text += translator.error(errors.upstreamStreamInterrupted('socket hang up'))
  const events = parseEvents(text)
  t.strictSame(events.map((e) => e.event), [
    'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added', 'response.output_text.delta',
    'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'error', 'response.failed',
  ])
  t.strictSame(events[8]!.data, { type: 'error', code: 'upstream_stream_interrupted', message: 'The upstream connection broke in the middle of the stream: socket hang up', param: null, sequence_number: 8 })
  const failed = events[9]!.data.response as Response
  t.equal(failed.status, 'failed')
  t.strictSame(failed.error, { code: 'server_error', message: 'The upstream connection broke in the middle of the stream: socket hang up' })
  t.equal((failed.output[0] as { status: string }).status, 'incomplete', 'the cut item is incomplete')
  t.strictSame(translator.response, failed, 'the stored Response is the failed one')
  t.equal(translator.finish(), '', 'nothing after the failure')
  const limited = new ResponsesStreamTranslator(ctxFor({ model: 'm', input: 'x' }))
  const limitedEvents = parseEvents(limited.error(errors.rateLimited('slow down', {})))
  t.strictSame(limitedEvents.map((e) => e.event), ['response.created', 'response.in_progress', 'error', 'response.failed'])
  t.equal((limitedEvents[3]!.data.response as Response).error?.code, 'rate_limit_exceeded')
})

test('stream: a refusal streams as a refusal part', async (t) => {
  const translator = new ResponsesStreamTranslator(ctxFor({ model: 'm', input: 'x' }))
  const chunk = (delta: Record<string, unknown>, finish: 'stop' | null = null): ChatCompletionChunk => ({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  let text = translator.push(chunk({ refusal: "I can't" }))
  text += translator.push(chunk({ refusal: ' help.' }, 'stop'))
  text += translator.finish()
  const events = parseEvents(text)
  t.strictSame(events.map((e) => e.event).slice(2), ['response.output_item.added', 'response.content_part.added', 'response.refusal.delta', 'response.refusal.delta', 'response.refusal.done', 'response.content_part.done', 'response.output_item.done', 'response.completed'])
  t.strictSame((translator.response.output[0] as { content: unknown }).content, [{ type: 'refusal', refusal: "I can't help." }])
})

test('stream: a tool call resumed after another item started is a bad upstream response', async (t) => {
  const translator = new ResponsesStreamTranslator(ctxFor({ model: 'm', input: 'x' }))
  const tool = (index: number, args: string, id?: string): ChatCompletionChunk => ({
    id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm',
    choices: [{ index: 0, delta: { tool_calls: [{ index, ...(id ? { id, type: 'function' as const, function: { name: 'f', arguments: args } } : { function: { arguments: args } }) }] }, finish_reason: null }],
  })
  translator.push(tool(0, '{"a":', 'call_a'))
  translator.push(tool(1, '{}', 'call_b'))
  const err = gatewayError(() => translator.push(tool(0, '1}')))
  t.equal(err.statusCode, 502)
})

// ---------------------------------------------------------------- native usage

test('usage of a native Response body', async (t) => {
  t.strictSame(responsesUsage(read('responses', 'native-response.json')), {
    prompt_tokens: 328, completion_tokens: 52, total_tokens: 380,
    prompt_tokens_details: { cached_tokens: 256, cache_write_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 40 },
  })
  t.equal(responsesUsage({ error: { message: 'x' } }), undefined)
})

test('usage of a native Responses SSE stream, read as it passes', async (t) => {
  const bytes = readFileSync(join(ROOT, 'responses', 'native-stream.sse'))
  const expected = { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500, prompt_tokens_details: { cached_tokens: 1024, cache_write_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 256 } }
  for (const size of [1, 13, bytes.length]) {
    const observer = new ResponsesSseUsage()
    for (let i = 0; i < bytes.length; i += size) observer.push(bytes.subarray(i, i + size))
    observer.end()
    t.strictSame(observer.usage, expected, `slices of ${size} bytes`)
    t.equal(observer.status, 'completed')
  }
  // Servers that omit `event:` lines: found by the data's type.
  const unnamed = new ResponsesSseUsage()
  unnamed.push(bytes.toString('utf8').replace(/^event: .*\n/gm, ''))
  t.strictSame(unnamed.usage, expected, 'without event names')
  // Our own translator's output is readable by the same observer.
  const own = new ResponsesSseUsage()
  own.push(runStream('parallel-tools', ctxFor({ model: 'm', input: 'x' })).text)
  t.equal(own.usage?.prompt_tokens, 1200)
  t.equal(own.usage?.prompt_tokens_details?.cached_tokens, 1024)
})
