// Direct mode: createGateway() runs the pipeline in-process, imported from the
// package by its own name.
import { test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGateway, SwitchyardError, type ChatCompletion, type ChatCompletionChunk } from 'switchyard'
import { startMockOpenAI } from '../mocks/openai.js'
import { config, slowStream } from './helpers.js'

const hello = { model: 'gpt-test', messages: [{ role: 'user' as const, content: 'hello' }] }

test('chat, stream and embeddings in-process, recorded like the server records them', async (t) => {
  const up = await startMockOpenAI({ streamChunks: 3 })
  t.teardown(() => up.close())
  const gateway = await createGateway({ config: config(up.url), logLevel: 'silent' })
  t.teardown(() => gateway.close())

  const completion = (await gateway.chat(hello)) as ChatCompletion
  t.equal(completion.object, 'chat.completion')
  t.equal(completion.choices[0]!.message.content, 'echo: hello')
  t.equal(up.requests[0]!.body!.model, 'upstream-model-1', 'routed and rewritten as by the server')

  const chunks: ChatCompletionChunk[] = []
  for await (const chunk of await gateway.chat({ ...hello, stream: true, stream_options: { include_usage: true } })) chunks.push(chunk)
  t.ok(chunks.length >= 3, 'chunk objects, not SSE text')
  t.equal(chunks.every((c) => c.object === 'chat.completion.chunk'), true)
  const last = chunks[chunks.length - 1]!
  t.ok(last.usage && last.usage.total_tokens > 0, 'the usage chunk the client asked for')

  const emb = await gateway.embeddings({ model: 'embed-test', input: ['a', 'b'] })
  t.equal(emb.data.length, 2)

  await gateway.app.usage.flush()
  const rows = await gateway.app.db.usageRecord.findMany({ orderBy: { createdAt: 'asc' } })
  t.same(rows.map((r) => [r.endpoint, r.stream, r.status]), [['chat', false, 200], ['chat', true, 200], ['embeddings', false, 200]])
  t.ok(rows[0]!.costUsd > 0, 'priced like any request')
})

test('errors are thrown as SwitchyardError with OpenAI status, type and code', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const gateway = await createGateway({ config: config(up.url), logLevel: 'silent' })
  t.teardown(() => gateway.close())

  const unknown = await gateway.chat({ ...hello, model: 'nope' }).catch((e: unknown) => e)
  t.ok(unknown instanceof SwitchyardError)
  t.match(unknown, { status: 404, type: 'invalid_request_error', code: 'model_not_found' })

  const invalid = await gateway.chat({ model: 'gpt-test', messages: [] }).catch((e: unknown) => e)
  t.match(invalid, { status: 400, code: 'invalid_request_body', param: 'messages' }, 'the same validation as the HTTP route')

  up.script({ status: 400, body: { error: { message: 'bad temperature', type: 'invalid_request_error', code: 'bad_param' } } })
  const upstream = await gateway.chat(hello).catch((e: unknown) => e)
  t.match(upstream, { status: 400, code: 'bad_param', message: 'bad temperature' }, 'upstream errors keep their fields')
  t.equal(up.requests.length, 1, 'invalid requests never reached the upstream')
})

test('breaking out of a stream aborts the upstream call and records what was relayed', async (t) => {
  const up = await slowStream()
  t.teardown(() => up.close())
  const gateway = await createGateway({ config: config(up.url), logLevel: 'silent' })
  t.teardown(() => gateway.close())

  let seen = 0
  for await (const chunk of await gateway.chat({ ...hello, stream: true })) {
    if (chunk.choices[0]?.delta.content) seen++
    if (seen === 3) break
  }
  const sentWhenClosed = await up.closed
  t.ok(sentWhenClosed < 200, `the upstream connection was closed after ${sentWhenClosed} of 200 chunks`)

  await gateway.app.usage.flush()
  const [row] = await gateway.app.db.usageRecord.findMany()
  t.equal(row!.status, 499, `recorded as a caller that left (${row!.status} ${row!.error})`)
  t.equal(row!.usageSource, 'estimate', 'no usage arrived: the gateway counted')
  t.ok(row!.completionTokens >= 3, 'at least the relayed words are charged')
  t.ok(row!.costUsd > 0)
})

test('apiKey: the gateway key\'s permissions apply in-process', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-direct-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const databaseUrl = `file:${join(dir, 'db.sqlite')}`
  // Create a key restricted to embeddings, then act as it.
  const admin = await createGateway({ config: config(up.url), databaseUrl, logLevel: 'silent' })
  const { generateKey, hashKey, keyPrefix } = await import('../../lib/keys/keys.js')
  const key = generateKey()
  await admin.app.db.apiKey.create({ data: { id: 'key_direct', name: 'embed-only', hash: hashKey(key), prefix: keyPrefix(key), allowedModels: JSON.stringify(['embed-*']) } })
  await admin.close()

  const asKey = await createGateway({ config: config(up.url), databaseUrl, apiKey: key, logLevel: 'silent' })
  t.teardown(() => asKey.close())
  t.match(await asKey.chat(hello).catch((e: unknown) => e), { status: 403, code: 'model_not_allowed' })
  t.equal((await asKey.embeddings({ model: 'embed-test', input: 'x' })).data.length, 1)
  await t.rejects(createGateway({ config: config(up.url), databaseUrl, apiKey: 'sk-sy-not-a-key', logLevel: 'silent' }), { status: 401 })
})
