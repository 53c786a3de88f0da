// createRouter: one interface in all three modes; embedded falls back to
// direct when its in-process server stops answering; and one Switchyard
// chained behind another.
import { test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { createRouter, startGateway, SwitchyardError, type ChatCompletion, type ChatCompletionChunk, type EmbeddedRouter, type Router } from 'switchyard'
import { startMockOpenAI } from '../mocks/openai.js'
import { config, MASTER } from './helpers.js'

const hello = { model: 'gpt-test', messages: [{ role: 'user' as const, content: 'hello' }] }

function scratch(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-router-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return `file:${join(dir, 'db.sqlite')}`
}

async function exercise(t: Parameters<Parameters<typeof test>[1]>[0], router: Router) {
  const completion = (await router.chat(hello)) as ChatCompletion
  t.equal(completion.choices[0]!.message.content, 'echo: hello')
  const chunks: ChatCompletionChunk[] = []
  for await (const c of await router.chat({ ...hello, stream: true })) chunks.push(c)
  t.ok(chunks.length > 1 && chunks.every((c) => c.object === 'chat.completion.chunk'), 'a stream of chunk objects')
  t.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'echo: t1 t2', "the upstream's deltas, in order")
  t.equal((await router.embeddings({ model: 'embed-test', input: 'x' })).data.length, 1)
  const err = await router.chat({ ...hello, model: 'nope' }).catch((e: unknown) => e)
  t.ok(err instanceof SwitchyardError, 'one error class')
  t.match(err, { status: 404, code: 'model_not_found' })
}

test('the same calls and answers in direct, proxy and embedded mode', async (t) => {
  const up = await startMockOpenAI({ streamChunks: 3 })
  t.teardown(() => up.close())

  const direct = await createRouter({ mode: 'direct', config: config(up.url), databaseUrl: scratch(t), logLevel: 'silent' })
  t.teardown(() => direct.close())
  await t.test('direct', (tt) => exercise(tt, direct))

  const server = await startGateway({ config: config(up.url), databaseUrl: scratch(t), masterKey: MASTER, logLevel: 'silent' })
  t.teardown(() => server.close())
  const proxy = await createRouter({ mode: 'proxy', baseUrl: server.url, apiKey: MASTER })
  t.teardown(() => proxy.close())
  await t.test('proxy', (tt) => exercise(tt, proxy))

  const embedded = await createRouter({ mode: 'embedded', config: config(up.url), databaseUrl: scratch(t), logLevel: 'silent' })
  t.teardown(() => embedded.close())
  await t.test('embedded', (tt) => exercise(tt, embedded))
})

test('embedded mode falls back to direct when its server is closed, and keeps recording', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const databaseUrl = scratch(t)
  const router = (await createRouter({ mode: 'embedded', config: config(up.url), databaseUrl, logLevel: 'silent', healthCheckMs: 200 })) as EmbeddedRouter
  t.teardown(() => router.close())

  t.equal(router.serving, 'proxy')
  await router.chat(hello)
  const viaServer = await request(`${router.server.url}/health`)
  t.equal(viaServer.statusCode, 200, 'the in-process server answers on loopback')
  await viaServer.body.dump()

  await router.server.close()
  const after = (await router.chat(hello)) as ChatCompletion
  t.equal(after.choices[0]!.message.content, 'echo: hello', 'answered with the server gone')
  t.equal(router.serving, 'direct')
  t.equal(up.requests.length, 2, 'both requests reached the upstream')
})

test('one Switchyard behind another: the outer names the inner as its deployment and passes on the inner\'s routing', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const inner = await startGateway({ config: config(up.url), databaseUrl: scratch(t), masterKey: MASTER, logLevel: 'silent' })
  t.teardown(() => inner.close())
  const outerConfig = {
    providers: [{ name: 'inner', type: 'openai', baseUrl: `${inner.url}/v1`, apiKey: '${INNER_GATEWAY_API_KEY}' }],
    models: [{ name: 'gpt-test', deployments: [{ provider: 'inner', model: 'gpt-test', pricing: { input: 1, output: 2 } }] }],
    routing: { strategy: 'model' },
  }
  process.env.INNER_GATEWAY_API_KEY = MASTER
  t.teardown(() => delete process.env.INNER_GATEWAY_API_KEY)
  const outer = await startGateway({ config: outerConfig, databaseUrl: scratch(t), masterKey: MASTER, logLevel: 'silent' })
  t.teardown(() => outer.close())

  for (const stream of [false, true]) {
    const res = await request(`${outer.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...hello, stream }),
    })
    await res.body.dump()
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-switchyard-deployment'], 'gpt-test:inner:gpt-test', `the outer's own deployment (stream: ${stream})`)
    t.equal(res.headers['x-switchyard-upstream-deployment'], 'gpt-test:up:upstream-model-1', 'the inner gateway\'s choice, passed on')
    t.equal(res.headers['x-switchyard-upstream-provider'], 'up')
  }
})
