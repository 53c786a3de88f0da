// The pieces of the native pass-through that know a client API: the stream
// watchers (usage, completion, in-band errors, dropped events) and the
// canonical-stream translation driver the front-door routes use.
import { test } from 'tap'
import { AnthropicNativeWatcher, anthropicNativeJob } from '../../lib/frontdoors/anthropic/native.js'
import { CompletionsNativeWatcher, completionsNativeJob } from '../../lib/frontdoors/completions/native.js'
import { translateChatStream, type ChunkTranslator } from '../../lib/frontdoors/chat-stream.js'
import { errors } from '../../lib/errors.js'
import type { ProviderEntry } from '../../lib/routing/table.js'

const ev = (event: string, data: unknown) => ({ event, data: JSON.stringify(data) })
const provider = (type: string) => ({ settings: { name: 'p', type } }) as unknown as ProviderEntry

test('Anthropic watcher: usage from message_start and message_delta, text, completion, in-band errors', async (t) => {
  const w = new AnthropicNativeWatcher()
  t.equal(w.observe(ev('message_start', { type: 'message_start', message: { usage: { input_tokens: 10, cache_read_input_tokens: 4, output_tokens: 1 } } })), undefined)
  t.same(w.observe(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi ' } })), { text: 'hi ' })
  t.same(w.observe(ev('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"a"' } })), { text: '{"a"' })
  t.notOk(w.complete)
  w.observe(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } }))
  w.observe(ev('message_stop', { type: 'message_stop' }))
  t.ok(w.complete)
  t.match(w.usage, { prompt_tokens: 14, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 4 } })
  const err = w.observe(ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }))?.error
  t.equal(err?.code, 'overloaded_error')
  t.equal(err?.statusCode, 503)
  t.equal(w.errorEvent(errors.upstreamTimeout('slow')), 'event: error\ndata: {"type":"error","error":{"type":"timeout_error","message":"The upstream provider timed out: slow"}}\n\n')
})

test('Anthropic native job: Anthropic providers only; anthropic-beta on native attempts; usage and text of a JSON answer', async (t) => {
  const job = anthropicNativeJob({ raw: '{}', parsed: {}, beta: 'x-2025' })
  t.ok(job.accepts(provider('anthropic')))
  t.notOk(job.accepts(provider('openai')))
  t.same(job.headers, { 'anthropic-beta': 'x-2025' })
  t.equal(job.endpoint({ name: 'p', type: 'anthropic', baseUrl: 'http://h/v1' }, 'm', false).url, 'http://h/v1/messages')
  const answer = { content: [{ type: 'text', text: 'a' }, { type: 'tool_use', name: 'f', input: { x: 1 } }], usage: { input_tokens: 3, output_tokens: 2 } }
  t.match(job.usage(answer), { prompt_tokens: 3, completion_tokens: 2 })
  t.equal(job.text(answer), 'af{"x":1}')
  t.equal(job.usage({}), undefined)
})

test('Completions watcher: [DONE] completes; the usage chunk is read, and dropped unless asked for; in-band errors', async (t) => {
  const usageChunk = { data: JSON.stringify({ id: 'c', object: 'text_completion', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }) }
  const hidden = new CompletionsNativeWatcher(false)
  t.same(hidden.observe({ data: JSON.stringify({ choices: [{ text: 'hello', index: 0 }] }) }), { text: 'hello' })
  t.same(hidden.observe(usageChunk), { drop: true })
  t.match(hidden.usage, { prompt_tokens: 3, completion_tokens: 2 })
  t.notOk(hidden.complete)
  hidden.observe({ data: '[DONE]' })
  t.ok(hidden.complete)
  const shown = new CompletionsNativeWatcher(true)
  t.equal(shown.observe(usageChunk), undefined, 'relayed when the client asked for it')
  const err = shown.observe({ data: JSON.stringify({ error: { message: 'boom', type: 'server_error', code: null } }) })?.error
  t.equal(err?.message, 'boom')
  t.equal(shown.errorEvent(errors.upstreamTimeout('slow')), `data: ${JSON.stringify(errors.upstreamTimeout('slow').toJSON())}\n\n`)
  const job = completionsNativeJob({ raw: '{}', parsed: {}, includeUsage: false })
  t.ok(job.accepts(provider('openai')) && job.accepts(provider('azure')))
  t.notOk(job.accepts(provider('anthropic')) || job.accepts(provider('gemini')))
  t.ok(job.streamUsage, 'streams ask the upstream for usage')
  t.equal(job.endpoint({ name: 'p', type: 'openai', baseUrl: 'http://h/v1' }, 'm', true).url, 'http://h/v1/completions')
})

function recorder(): ChunkTranslator & { log: string[] } {
  const log: string[] = []
  return {
    log,
    push: (chunk) => (log.push(`chunk:${chunk.choices?.[0]?.delta?.content ?? ''}`), 'c'),
    finish: () => (log.push('finish'), 'f'),
    error: (err) => (log.push(`error:${err.type}:${err.status}`), 'e'),
  }
}

async function drain(gen: AsyncIterable<Buffer | string>): Promise<string> {
  let out = ''
  for await (const s of gen) out += s
  return out
}

test('translateChatStream: chunks, [DONE], in-band errors, and a stream that just stops', async (t) => {
  const chunk = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`
  const ok = recorder()
  t.equal(await drain(translateChatStream(chunk('a') + chunk('b') + 'data: [DONE]\n\n', ok)), 'ccf')
  t.same(ok.log, ['chunk:a', 'chunk:b', 'finish'])

  const failed = recorder()
  const inBand = `data: ${JSON.stringify(errors.upstreamTimeout('slow').toJSON())}\n\n`
  await drain(translateChatStream((async function* () { yield chunk('a'); yield inBand })(), failed))
  t.same(failed.log, ['chunk:a', 'error:timeout_error:504'], 'the in-band error, with a status from its type')

  const cut = recorder()
  await drain(translateChatStream((async function* () { yield chunk('a') })(), cut))
  t.same(cut.log, ['chunk:a', 'error:upstream_error:502'], 'no [DONE]: an error, never a clean finish')

  const cooling = recorder()
  await drain(translateChatStream(`data: ${JSON.stringify(errors.allDeploymentsCoolingDown('m', 5).toJSON())}\n\n`, cooling))
  t.same(cooling.log, ['error:server_error:503'])
})
