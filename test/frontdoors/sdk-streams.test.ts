// The official SDKs read what the front doors write. A local HTTP server on
// 127.0.0.1 answers with the translators' output (SSE or JSON) for a chunk
// sequence named by the request's model; the Anthropic SDK's messages.stream
// accumulator and the openai SDK's responses.stream accumulator (both throw
// on events out of order or pointing at missing blocks/items) must rebuild
// exactly the message / response the translator meant.
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Anthropic, { OverloadedError } from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { test } from 'tap'
import { errors } from '../../lib/errors.js'
import {
  anthropicError,
  chatToMessages,
  MessagesStreamTranslator,
  type Message,
  type MessagesStreamContext,
} from '../../lib/frontdoors/anthropic/index.js'
import { chatToCompletion, completionsToChat, CompletionsStreamTranslator } from '../../lib/frontdoors/completions/index.js'
import { sequentialIds } from '../../lib/frontdoors/ids.js'
import { chatToResponse, responsesToChat, ResponsesStreamTranslator, type Response } from '../../lib/frontdoors/responses/index.js'
import type { ChatCompletion, ChatCompletionChunk, Usage } from '../../lib/openai/types.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'frontdoors')
const read = <T>(...parts: string[]): T => JSON.parse(readFileSync(join(ROOT, ...parts), 'utf8')) as T
const chunksOf = (name: string) => read<{ chunks: ChatCompletionChunk[]; finishUsage?: Usage }>('chunks', `${name}.json`)
const streamCases = read<{ cases: Array<{ chunks: string; ctx: MessagesStreamContext; message: Message }> }>('anthropic', 'streams.json').cases

const TEXT_COMPLETION: ChatCompletion = {
  id: 'chatcmpl-x', object: 'chat.completion', created: 1741570283, model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there!' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 25, completion_tokens: 3, total_tokens: 28 },
}

/** Writes an SSE body in uneven slices so the SDK's parser has to join lines across reads. */
function writeSlices(res: ServerResponse, parts: string[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  for (const part of parts) {
    const cut = Math.max(1, Math.floor(part.length / 3))
    if (part) res.write(part.slice(0, cut))
    if (part.length > cut) res.write(part.slice(cut))
  }
  res.end()
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = ''
  for await (const chunk of req) text += chunk
  return JSON.parse(text) as Record<string, unknown>
}

function anthropicRoute(req: Record<string, unknown>, res: ServerResponse): void {
  const model = String(req.model)
  if (model === 'error-json') {
    const out = anthropicError(errors.allDeploymentsCoolingDown('claude', 3))
    return json(res, out.status, out.body, out.headers)
  }
  if (model === 'error-midstream') {
    const translator = new MessagesStreamTranslator({ model, thinking: false, stopSequences: [], id: 'msg_err' })
    const parts = chunksOf('text').chunks.slice(0, 2).map((c) => translator.push(c))
    return writeSlices(res, [...parts, translator.error(errors.upstreamStreamInterrupted('reset'))])
  }
  const c = streamCases.find((x) => x.ctx.id === model)!
  if (req.stream !== true) return json(res, 200, chatToMessages(TEXT_COMPLETION, { ...c.ctx, model: 'm' }))
  const { chunks, finishUsage } = chunksOf(c.chunks)
  const translator = new MessagesStreamTranslator(c.ctx)
  writeSlices(res, [...chunks.map((chunk) => translator.push(chunk)), translator.finish(finishUsage)])
}

function responsesRoute(req: Record<string, unknown>, res: ServerResponse): void {
  const { chat, context } = responsesToChat(req as never)
  const ctx = { ...context, id: 'resp_sdk', createdAt: 1741570283, ids: sequentialIds() }
  const model = String(chat.model)
  if (!chat.stream) return json(res, 200, chatToResponse(TEXT_COMPLETION, ctx))
  const translator = new ResponsesStreamTranslator(ctx)
  if (model === 'error-midstream') {
    const parts = chunksOf('text').chunks.slice(0, 2).map((c) => translator.push(c))
    return writeSlices(res, [...parts, translator.error(errors.upstreamStreamInterrupted('reset'))])
  }
  const { chunks, finishUsage } = chunksOf(model)
  writeSlices(res, [...chunks.map((chunk) => translator.push(chunk)), translator.finish(finishUsage)])
}

function completionsRoute(req: Record<string, unknown>, res: ServerResponse): void {
  const { chat, context } = completionsToChat(req as never)
  const ctx = { ...context, id: 'cmpl-sdk' }
  if (!chat.stream) return json(res, 200, chatToCompletion(TEXT_COMPLETION, ctx))
  const translator = new CompletionsStreamTranslator(ctx)
  const { chunks } = chunksOf('text')
  writeSlices(res, [...chunks.map((c) => translator.push(c)), translator.finish()])
}

async function startServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    body(req)
      .then((parsed) => {
        if (req.url?.startsWith('/v1/messages')) anthropicRoute(parsed, res)
        else if (req.url?.startsWith('/v1/responses')) responsesRoute(parsed, res)
        else if (req.url?.startsWith('/v1/completions')) completionsRoute(parsed, res)
        else json(res, 404, { error: 'no route' })
      })
      .catch((err: unknown) => json(res, 500, { error: String(err) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** Drops what the SDKs add on their own (parsed_output, output_text, output_parsed, parsed, parsed_arguments, undefined fields). */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (key, v: unknown) =>
    ['parsed_output', 'output_text', 'output_parsed', 'parsed', 'parsed_arguments'].includes(key) ? undefined : v,
  ) as T
}

test('official SDKs read the front doors', async (t) => {
  const { server, url } = await startServer()
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const anthropic = new Anthropic({ apiKey: 'sk-test', baseURL: url, maxRetries: 0 })
  const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${url}/v1`, maxRetries: 0 })

  await t.test('Anthropic messages.stream().finalMessage() rebuilds every case', async (t) => {
    for (const c of streamCases) {
      const stream = anthropic.messages.stream({ model: c.ctx.id!, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      const texts: string[] = []
      stream.on('text', (delta) => texts.push(delta))
      const message = await stream.finalMessage()
      t.strictSame(plain(message), c.message, `${c.chunks} (thinking ${c.ctx.thinking})`)
      const text = c.message.content.filter((b) => b.type === 'text').map((b) => (b as { text: string }).text).join('')
      t.equal(texts.join(''), text, `${c.chunks}: the SDK's text events add up`)
    }
  })

  await t.test('Anthropic messages.create() reads a translated message', async (t) => {
    const message = await anthropic.messages.create({ model: 'msg_t1', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
    t.equal(message.stop_reason, 'end_turn')
    t.strictSame(message.content, [{ type: 'text', text: 'Hello there!' }])
    t.equal(message.usage.input_tokens, 25)
  })

  await t.test('Anthropic errors: an overloaded answer and a mid-stream error event', async (t) => {
    const overloaded = await anthropic.messages.create({ model: 'error-json', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)
    t.ok(overloaded instanceof OverloadedError, '529 -> OverloadedError')
    t.equal((overloaded as OverloadedError).status, 529)
    t.equal((overloaded as OverloadedError).type, 'overloaded_error')
    t.equal((overloaded as OverloadedError).headers?.get('retry-after'), '3')
    const midstream = await anthropic.messages
      .stream({ model: 'error-midstream', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage()
      .catch((e: unknown) => e)
    t.ok(midstream instanceof Anthropic.APIError, 'the error event rejects the stream')
    t.equal((midstream as InstanceType<typeof Anthropic.APIError>).type, 'api_error')
  })

  await t.test('openai responses.stream().finalResponse() and its delta snapshots', async (t) => {
    for (const name of ['text', 'tool-call', 'parallel-tools', 'complete-tool-calls', 'reasoning', 'no-usage-length', 'custom-tool']) {
      const tools = name === 'custom-tool' ? [{ type: 'custom' as const, name: 'apply_patch' }] : []
      const stream = openai.responses.stream({ model: name, input: 'hi', tools })
      const textSnapshots: string[] = []
      const argSnapshots = new Map<number, string>()
      stream.on('response.output_text.delta', (e) => textSnapshots.push(e.snapshot))
      stream.on('response.function_call_arguments.delta', (e) => argSnapshots.set(e.output_index, e.snapshot))
      const final = await stream.finalResponse()

      // What our translator stores for the same stream.
      const { chat, context } = responsesToChat({ model: name, input: 'hi', tools })
      const translator = new ResponsesStreamTranslator({ ...context, id: 'resp_sdk', createdAt: 1741570283, ids: sequentialIds() })
      const { chunks, finishUsage } = chunksOf(name)
      for (const chunk of chunks) translator.push(chunk)
      translator.finish(finishUsage)
      t.equal(chat.model, name)
      t.strictSame(plain(final), plain(translator.response), `${name}: final Response`)

      const texts = translator.response.output.flatMap((o) => (o.type === 'message' ? o.content.map((p) => (p.type === 'output_text' ? p.text : '')) : []))
      if (texts.length > 0) t.equal(textSnapshots.at(-1), texts.join(''), `${name}: the SDK's text snapshot equals the final text`)
      for (const [i, item] of translator.response.output.entries()) {
        if (item.type === 'function_call') t.equal(argSnapshots.get(i), item.arguments, `${name}: arguments snapshot of output ${i}`)
      }
      t.equal(final.output_text, texts.join(''), `${name}: output_text`)
    }
  })

  await t.test('openai responses.create({stream: true}) yields typed events in order', async (t) => {
    const events = await openai.responses.create({ model: 'parallel-tools', input: 'hi', stream: true })
    const seen: number[] = []
    let completed: Response | undefined
    for await (const event of events) {
      seen.push(event.sequence_number)
      if (event.type === 'response.completed') completed = event.response as unknown as Response
    }
    t.strictSame(seen, seen.map((_, i) => i))
    t.equal(completed?.output.length, 3)
    t.equal(completed?.usage?.input_tokens_details.cached_tokens, 1024)
  })

  await t.test('openai responses.create() reads a translated Response', async (t) => {
    const response = await openai.responses.create({ model: 'gpt-4o-alias', input: 'hi' })
    t.equal(response.output_text, 'Hello there!')
    t.equal(response.status, 'completed')
    t.equal(response.usage?.total_tokens, 28)
  })

  await t.test('openai responses.stream() rejects on a mid-stream error event', async (t) => {
    const types: string[] = []
    const stream = openai.responses.stream({ model: 'error-midstream', input: 'hi' })
    stream.on('event', (e) => types.push(e.type))
    const failure = await stream.finalResponse().catch((e: unknown) => e as { message?: string; code?: string })
    t.match(failure, { message: 'The upstream connection broke in the middle of the stream: reset', code: 'upstream_stream_interrupted' })
    t.ok(types.includes('response.output_text.delta'), 'the text before the failure was delivered')
    t.equal(types.at(-1), 'error', 'the stream stops at the error event')
    // A client iterating the raw events (Codex reads response.failed) also gets the failed Response.
    const raw = await openai.responses.create({ model: 'error-midstream', input: 'hi', stream: true })
    let failed: { status?: string; error?: { code: string } | null } | undefined
    for await (const event of raw) if (event.type === 'response.failed') failed = event.response
    t.equal(failed?.status, 'failed')
    t.equal(failed?.error?.code, 'server_error')
  })

  await t.test('openai completions.create(), plain and streamed', async (t) => {
    const plainCompletion = await openai.completions.create({ model: 'legacy', prompt: 'Say hello', max_tokens: 5 })
    t.equal(plainCompletion.object, 'text_completion')
    t.equal(plainCompletion.choices[0]?.text, 'Hello there!')
    const stream = await openai.completions.create({ model: 'legacy', prompt: 'Say hello', stream: true, stream_options: { include_usage: true } })
    let text = ''
    let usage: OpenAI.Completions.CompletionUsage | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? ''
      if (chunk.usage) usage = chunk.usage
    }
    t.equal(text, 'Hello there!')
    t.equal(usage?.total_tokens, 28)
  })
})
