// Golden tests for the legacy /v1/completions front door.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { errors, GatewayError } from '../../lib/errors.js'
import {
  chatToCompletion,
  completionsToChat,
  CompletionsStreamTranslator,
  type Completion,
  type CompletionsRequest,
  type CompletionsResponseContext,
} from '../../lib/frontdoors/completions/index.js'
import type { ChatCompletion, ChatCompletionChunk, Usage } from '../../lib/openai/types.js'
import { SseParser } from '../../lib/sse.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'frontdoors')
const read = <T>(...parts: string[]): T => JSON.parse(readFileSync(join(ROOT, ...parts), 'utf8')) as T
const names = (prefix: string) => readdirSync(join(ROOT, 'completions')).filter((f) => f.startsWith(prefix) && f.endsWith('.json')).sort()
const textChunks = () => read<{ chunks: ChatCompletionChunk[] }>('chunks', 'text.json').chunks

function gatewayError(fn: () => unknown): GatewayError {
  try {
    fn()
  } catch (err) {
    if (err instanceof GatewayError) return err
    throw err
  }
  throw new Error('expected a GatewayError')
}

function dataEvents(text: string): string[] {
  const parser = new SseParser()
  return [...parser.push(text), ...parser.end()].map((e) => e.data)
}

const ctx = (extra: Partial<CompletionsResponseContext> = {}): CompletionsResponseContext => ({ model: 'legacy', echo: null, logprobs: null, includeUsage: false, id: 'cmpl-t', ...extra })

test('request fixtures: completions -> chat', async (t) => {
  for (const name of names('request-')) {
    const f = read<{ request: CompletionsRequest; chat: unknown; context: unknown; dropped: string[] }>('completions', name)
    const out = completionsToChat(f.request)
    t.strictSame(out.chat, f.chat, `${name}: chat`)
    t.strictSame(out.context, f.context, `${name}: context`)
    t.strictSame(out.dropped, f.dropped, `${name}: dropped`)
  }
})

test('what is refused: 400 naming the field', async (t) => {
  const cases: Array<[string, CompletionsRequest, string]> = [
    ['several prompts', { model: 'm', prompt: ['a', 'b'] }, 'prompt'],
    ['token ids', { model: 'm', prompt: [1, 2, 3] }, 'prompt'],
    ['batched token ids', { model: 'm', prompt: [[1], [2]] }, 'prompt'],
    ['suffix', { model: 'm', prompt: 'def f(', suffix: '\n    return x' }, 'suffix'],
    ['best_of', { model: 'm', prompt: 'x', best_of: 3 }, 'best_of'],
    ['echo with logprobs', { model: 'm', prompt: 'x', echo: true, logprobs: 1 }, 'echo'],
  ]
  for (const [label, req, param] of cases) {
    const err = gatewayError(() => completionsToChat(req))
    t.equal(err.statusCode, 400, `${label}: 400`)
    t.equal(err.param, param, `${label}: param`)
  }
  t.equal((completionsToChat({ model: 'm' }).chat.messages[0]!.content), '<|endoftext|>', "no prompt: OpenAI's documented default")
})

test('response fixtures: chat -> text_completion', async (t) => {
  for (const name of names('response-')) {
    const f = read<{ ctx: CompletionsResponseContext; chat: ChatCompletion; completion: Completion }>('completions', name)
    t.strictSame(chatToCompletion(f.chat, f.ctx), f.completion, name)
  }
})

test('stream: text_completion chunks, usage only when asked, [DONE] last', async (t) => {
  for (const includeUsage of [true, false]) {
    const translator = new CompletionsStreamTranslator(ctx({ includeUsage }))
    let text = ''
    for (const chunk of textChunks()) text += translator.push(chunk)
    text += translator.finish()
    const events = dataEvents(text)
    t.equal(events.at(-1), '[DONE]')
    const chunks = events.slice(0, -1).map((d) => JSON.parse(d) as Completion & { usage?: Usage })
    t.strictSame(chunks.map((c) => c.object), chunks.map(() => 'text_completion'))
    t.strictSame(chunks.map((c) => c.id), chunks.map(() => 'cmpl-t'))
    t.equal(chunks.flatMap((c) => c.choices.map((ch) => ch.text)).join(''), 'Hello there!', 'texts add up')
    t.strictSame(chunks.filter((c) => c.choices.length > 0).map((c) => c.choices[0]!.finish_reason), [null, null, 'stop'])
    const usage = chunks.find((c) => c.usage)
    if (includeUsage) t.strictSame(usage, { id: 'cmpl-t', object: 'text_completion', created: 1741570283, model: 'legacy', choices: [], usage: textChunks().at(-1)!.usage })
    else t.equal(usage, undefined, 'no usage chunk when the client did not ask')
  }
})

test('stream: echo opens each choice, logprob offsets continue across chunks', async (t) => {
  const translator = new CompletionsStreamTranslator(ctx({ echo: 'Hi', logprobs: 1 }))
  const chunk = (index: number, content: string, token: string): ChatCompletionChunk => ({
    id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm',
    choices: [{ index, delta: { content }, finish_reason: null, logprobs: { content: [{ token, logprob: -1, top_logprobs: [{ token, logprob: -1 }, { token: 'x', logprob: -2 }] }] } }],
  })
  let text = translator.push(chunk(0, ' you', ' you'))
  text += translator.push(chunk(0, ' all', ' all'))
  text += translator.push(chunk(1, '!', '!'))
  const chunks = dataEvents(text).map((d) => JSON.parse(d) as Completion)
  t.strictSame(chunks.map((c) => c.choices[0]!.text), ['Hi you', ' all', 'Hi!'])
  t.strictSame(chunks.map((c) => c.choices[0]!.logprobs!.text_offset), [[2], [6], [2]])
  t.strictSame(chunks[0]!.choices[0]!.logprobs!.top_logprobs, [{ ' you': -1 }], 'top_logprobs cut to the number asked')
})

test('stream: a failure mid-stream is an OpenAI error event and ends the stream', async (t) => {
  const translator = new CompletionsStreamTranslator(ctx())
  translator.push(textChunks()[1]!)
  const events = dataEvents(translator.error(errors.upstreamTimeout('total deadline')))
  t.strictSame(JSON.parse(events[0]!), { error: { message: 'The upstream provider timed out: total deadline', type: 'timeout_error', param: null, code: 'upstream_timeout' } })
  t.equal(translator.finish(), '', 'no [DONE] after an error')
})
