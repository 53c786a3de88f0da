// Embedded in a host Fastify app: app.register(switchyard, { prefix, ... })
// serves the whole surface under the prefix and changes nothing else.
import { test } from 'tap'
import Fastify from 'fastify'
import { request } from 'undici'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import switchyard from 'switchyard'
import { startMockOpenAI } from '../mocks/openai.js'
import { config, MASTER } from './helpers.js'

test('a host app with its own routes, parser and error handler keeps them all', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-host-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  // Switchyard's start (migrations, the writer thread) can outlast Fastify's default 10 s plugin timeout on a busy machine.
  const host = Fastify({ logger: false, pluginTimeout: 60_000 })
  host.setErrorHandler(async (err, _req, reply) => reply.code(418).send({ host: 'handled', message: err.message }))
  host.setNotFoundHandler(async (_req, reply) => reply.code(404).send({ host: 'not found' }))
  host.post('/echo', async (req) => ({ got: req.body }))
  host.get('/boom', async () => {
    throw new Error('host failure')
  })
  await host.register(switchyard, { prefix: '/llm', config: config(up.url), databaseUrl: `file:${join(dir, 'db.sqlite')}`, masterKey: MASTER, logLevel: 'silent' })
  t.teardown(() => host.close())
  const base = await host.listen({ port: 0, host: '127.0.0.1' })

  // Switchyard, under its prefix.
  const chat = await request(`${base}/llm/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
  })
  t.equal(chat.statusCode, 200)
  t.equal(chat.headers['x-switchyard-deployment'], 'gpt-test:up:upstream-model-1')
  t.equal(((await chat.body.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content, 'echo: hi')
  const noKey = await request(`${base}/llm/v1/models`)
  t.equal(noKey.statusCode, 401, 'its key check guards its own routes')
  t.equal(((await noKey.body.json()) as { error: { code: string } }).error.code, 'missing_api_key', 'in OpenAI\'s error shape')
  const health = await request(`${base}/llm/health`)
  t.equal(health.statusCode, 200)
  await health.body.dump()

  // The host's routes: no key needed, no gateway headers, the host's parser and handlers.
  const echo = await request(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1,"a":2}' })
  t.equal(echo.statusCode, 200, 'duplicate keys are the host\'s business: only /llm/v1 refuses them')
  t.same(await echo.body.json(), { got: { a: 2 } })
  t.equal(echo.headers['x-request-id'], undefined, 'no x-request-id from the gateway\'s hook')
  const boom = await request(`${base}/boom`)
  t.equal(boom.statusCode, 418, 'the host\'s error handler')
  t.same(await boom.body.json(), { host: 'handled', message: 'host failure' })
  const missing = await request(`${base}/nowhere`)
  t.equal(missing.statusCode, 404)
  t.same(await missing.body.json(), { host: 'not found' }, 'the host\'s not-found handler')
  t.notOk(host.hasDecorator('pipeline'), 'no decorations leak into the host')
})
