// Model fallbacks and context-window fallbacks, end to end.
import { test } from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { chat, json, resilienceConfig, serverError, solo, twoMocks } from '../helpers/resilience.js'

const contextTooLong = {
  status: 400,
  body: {
    error: {
      message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    },
  },
}

test('a fallback model answers when every deployment of the requested one fails', async (t) => {
  const { a, b } = await twoMocks(t)
  // Three faults in a row open the circuit here (the default is five).
  const app = await buildTestApp(t, {
    gateway: resilienceConfig(a, b, [solo('primary', 'a', { fallbacks: ['backup'] }), solo('backup', 'b')], { cooldown: { consecutiveFailures: 3 } }),
  })
  a.behaviour(() => ({ status: 503, body: { error: { message: 'unavailable', type: 'server_error' } } }))
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('primary') })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-switchyard-fallback-model'], 'backup')
  t.equal(res.headers['x-switchyard-deployment'], 'backup:b:up-b')
  t.equal(res.headers['x-switchyard-attempts'], '4', '3 attempts on primary (2 retries), 1 on backup')
  t.equal(a.requests.length, 3)
  t.equal(b.requests.length, 1)
  t.equal(b.requests[0]!.body!.model, 'up-b', 'the fallback deployment got its own upstream model')

  // While primary's only deployment cools down, backup is used straight away.
  t.equal(app.cooldown.health('primary:a:up-a').state, 'open')
  const next = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('primary') })
  t.equal(next.statusCode, 200)
  t.equal(next.headers['x-switchyard-fallback-model'], 'backup')
  t.equal(next.headers['x-switchyard-attempts'], '1')
  t.equal(a.requests.length, 3, 'the cooling deployment was not contacted')
})

test('fallback models the key may not use are skipped', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, {
    gateway: resilienceConfig(a, b, [solo('primary', 'a', { fallbacks: ['backup'] }), solo('backup', 'b')], { cooldown: { enabled: false } }),
  })
  const admin = { authorization: `Bearer ${app.jwt.sign({ sub: 'alice', role: 'admin' })}` }
  const created = await app.inject({ method: 'POST', url: '/admin/keys', headers: admin, payload: { name: 'narrow', allowedModels: ['primary'] } })
  t.equal(created.statusCode, 201)
  a.behaviour(() => serverError)
  const res = await app.inject({
    method: 'POST', url: '/v1/chat/completions',
    headers: { authorization: `Bearer ${created.json().key}`, 'content-type': 'application/json' },
    payload: chat('primary'),
  })
  t.equal(res.statusCode, 500, 'the primary error, not an answer from a model the key may not use')
  t.equal(b.requests.length, 0)
})

test('context window exceeded: a contextWindowFallbacks model answers', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, {
    gateway: resilienceConfig(a, b, [
      { name: 'small', deployments: [{ provider: 'a', model: 'up-a' }, { provider: 'a', model: 'up-a2' }], contextWindowFallbacks: ['large'] },
      solo('large', 'b'),
    ]),
  })
  a.script(contextTooLong)
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('small') })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-switchyard-fallback-model'], 'large')
  t.equal(res.headers['x-switchyard-deployment'], 'large:b:up-b')
  t.equal(res.headers['x-switchyard-attempts'], '2')
  t.equal(a.requests.length, 1, 'no retry, and the same-sized second deployment is not tried')
  t.equal(b.requests.length, 1)
  t.match(app.cooldown.health('small:a:up-a'), { failures: 0, consecutiveFailures: 0 }, 'not the deployment’s fault')
})

test('context window exceeded without contextWindowFallbacks: answered as is, ordinary fallbacks unused', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, { gateway: resilienceConfig(a, b, [solo('small', 'a', { fallbacks: ['large'] }), solo('large', 'b')]) })
  a.script(contextTooLong)
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('small') })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error.code, 'context_length_exceeded')
  t.equal(a.requests.length, 1)
  t.equal(b.requests.length, 0)
})
