// One model-permission check for every /v1 route that takes a model, made
// again after a routing rule moves the request; the latency report shows a
// key only the deployments of models it may use.
import { before, test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { startMockOpenAI } from '../mocks/openai.js'
import { auth, buildTestApp } from '../helpers/app.js'
import { adminHeaders, createKey } from '../helpers/limits.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const json = { 'content-type': 'application/json' }
const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hello' }] })

async function setup(t: Parameters<Parameters<typeof test>[1]>[0]) {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, {
    gateway: {
      providers: [
        { name: 'mock', type: 'mock' },
        { name: 'up', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'sk-upstream' },
      ],
      models: [
        { name: 'open', deployments: [{ id: 'open-dep', provider: 'mock' }] },
        { name: 'secret', deployments: [{ id: 'secret-dep', provider: 'mock' }] },
        { name: 'flaky', fallbacks: ['open'], deployments: [{ id: 'flaky-dep', provider: 'up' }] },
      ],
      routing: { strategy: 'rules', retries: { attempts: 0 }, cooldown: { enabled: false } },
    },
  })
  const key = await createKey(app, { name: 'tenant-a', allowedModels: ['open', 'flaky'] })
  const post = (url: string, headers: Record<string, string>, payload: unknown) => app.inject({ method: 'POST', url, headers: { ...json, ...headers }, payload: payload as Record<string, unknown> })
  return { app, up, key, post }
}

async function addRule(app: FastifyInstance, body: unknown) {
  const res = await app.inject({ method: 'POST', url: '/admin/rules', headers: adminHeaders(app), payload: body as Record<string, unknown> })
  if (res.statusCode !== 201) throw new Error(`rule: ${res.statusCode} ${res.body}`)
}

test('estimate-cost refuses a model the key may not use, like chat', async (t) => {
  const { key, post } = await setup(t)
  const viaChat = await post('/v1/chat/completions', key.headers, chat('secret'))
  const viaEstimate = await post('/v1/routing/estimate-cost', key.headers, chat('secret'))
  t.equal(viaChat.statusCode, 403)
  t.equal(viaEstimate.statusCode, 403, 'before: 200 with the prices of a model the key may not use')
  t.same(viaEstimate.json(), viaChat.json(), 'the same error')
  t.equal(viaEstimate.json().error.code, 'model_not_allowed')
  t.equal((await post('/v1/routing/estimate-cost', key.headers, chat('open'))).statusCode, 200)
  t.equal((await post('/v1/routing/estimate-cost', auth, chat('secret'))).statusCode, 200, 'the master key may')
})

test('a rule that moves the request to a model the key may not use is refused; fallbacks it moves are skipped', async (t) => {
  const { app, up, key, post } = await setup(t)
  await addRule(app, { name: 'big-to-secret', conditions: { header: { name: 'x-route', equals: 'big' } }, action: { type: 'model', model: 'secret' } })
  await addRule(app, { name: 'open-fallback-to-secret', conditions: { model: 'open', header: { name: 'x-route', equals: 'fb' } }, action: { type: 'model', model: 'secret' } })
  const big = { ...key.headers, 'x-route': 'big' }

  for (const url of ['/v1/chat/completions', '/v1/routing/estimate-cost']) {
    const refused = await post(url, big, chat('open'))
    t.equal(refused.statusCode, 403, `${url}: before, the rule served "secret"`)
    t.equal(refused.json().error.code, 'model_not_allowed')
    t.notMatch(refused.json().error.message, /secret/, 'the rule target is not disclosed')
    t.equal((await post(url, { ...auth, 'x-route': 'big' }, chat('open'))).statusCode, 200, `${url}: the master key may`)
  }
  const master = await post('/v1/chat/completions', { ...auth, 'x-route': 'big' }, chat('open'))
  t.equal(master.headers['x-switchyard-deployment'], 'secret-dep', 'the rule does route')
  t.equal((await post('/v1/chat/completions', key.headers, chat('open'))).statusCode, 200, 'without the header the key is served')

  // "flaky" fails; its fallback "open" is moved by a rule to "secret": skipped for this key.
  up.script({ status: 500, body: { error: { message: 'down', type: 'server_error' } } })
  const skipped = await post('/v1/chat/completions', { ...key.headers, 'x-route': 'fb' }, chat('flaky'))
  t.equal(skipped.statusCode, 500, 'the upstream failure, not an answer from "secret"')
  up.script({ status: 500, body: { error: { message: 'down', type: 'server_error' } } })
  const fellBack = await post('/v1/chat/completions', { ...auth, 'x-route': 'fb' }, chat('flaky'))
  t.equal(fellBack.statusCode, 200)
  t.equal(fellBack.headers['x-switchyard-deployment'], 'secret-dep', 'the master key falls back through the rule')
})

test('the latency report lists only deployments of models the key may use', async (t) => {
  const { app, key, post } = await setup(t)
  for (const model of ['open', 'secret']) t.equal((await post('/v1/chat/completions', auth, chat(model))).statusCode, 200)
  const ids = async (headers: Record<string, string>) => {
    const res = await app.inject({ method: 'GET', url: '/v1/routing/latency', headers })
    t.equal(res.statusCode, 200)
    return (res.json().data as Array<{ deploymentId: string }>).map((d) => d.deploymentId).sort()
  }
  t.same(await ids(auth), ['open-dep', 'secret-dep'], 'the master key sees all')
  t.same(await ids(key.headers), ['open-dep'], "not the other tenant's model")
  const other = await createKey(app, { name: 'tenant-b', allowedModels: ['sec*'] })
  t.same(await ids(other.headers), ['secret-dep'], 'globs in allowedModels apply')
})
