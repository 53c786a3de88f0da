// The circuit breaker in the gateway, end to end.
import { test } from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { chat, duo, json, resilienceConfig, serverError, twoMocks, until } from '../helpers/resilience.js'

test('a deployment that always fails: every request served, its circuit opens, then it gets no traffic', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, {
    gateway: resilienceConfig(a, b, [duo('m')], { cooldown: { consecutiveFailures: 3, failures: 5, windowMs: 60_000, cooldownMs: 60_000 } }),
  })
  a.behaviour(() => serverError)
  for (let i = 0; i < 6; i++) {
    const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
    t.equal(res.statusCode, 200, `request ${i + 1} served`)
    t.equal(res.headers['x-switchyard-deployment'], 'm:b:up-b')
  }
  t.equal(a.requests.length, 3, 'a got the first request and its retries, then nothing')
  t.equal(b.requests.length, 6)
  const health = app.cooldown.health('m:a:up-a')
  t.equal(health.state, 'open')
  t.equal(health.cooldownMs, 60_000)
  t.ok(health.openUntil! > Date.now())

  const viewer = { authorization: `Bearer ${app.jwt.sign({ sub: 'bob', role: 'viewer' })}` }
  const listed = await app.inject({ method: 'GET', url: '/admin/health/deployments', headers: viewer })
  t.equal(listed.statusCode, 200)
  const byId = Object.fromEntries((listed.json().data as Array<{ id: string }>).map((d) => [d.id, d]))
  t.same(Object.keys(byId).sort(), ['m:a:up-a', 'm:b:up-b'], 'every deployment of the routing table')
  t.match(byId['m:a:up-a'], { state: 'open', model: 'm', provider: 'a', cooldownMs: 60_000, lastError: 'server_error', probeInFlight: false })
  t.equal(byId['m:a:up-a'].openUntil, new Date(health.openUntil!).toISOString())
  t.match(byId['m:b:up-b'], { state: 'closed', failures: 0, openUntil: null })
  t.match(listed.json().settings, { consecutiveFailures: 3, cooldownMs: 60_000, enabled: true })
  t.equal(listed.json().store, 'memory')
  const anonymous = await app.inject({ method: 'GET', url: '/admin/health/deployments' })
  t.equal(anonymous.statusCode, 401, 'behind the admin JWT')
})

test('after the cool-down one probe goes through: failure re-opens for twice as long, success closes', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, {
    gateway: resilienceConfig(a, b, [duo('m')], { cooldown: { consecutiveFailures: 3, cooldownMs: 1_000, maxCooldownMs: 10_000 } }),
  })
  const id = 'm:a:up-a'
  a.behaviour(() => serverError)
  await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
  // Not asserting 'open' vs 'half_open': on a slow machine the cool-down may already be over.
  t.match(app.cooldown.health(id), { cooldownMs: 1_000, openUntil: Number })
  t.equal(a.requests.length, 3)

  await until('half-open', () => app.cooldown.health(id).state === 'half_open')
  const probeFails = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
  t.equal(probeFails.statusCode, 200, 'served by b')
  t.equal(probeFails.headers['x-switchyard-deployment'], 'm:b:up-b')
  t.equal(a.requests.length, 4, 'exactly one probe request, not retried')
  t.match(app.cooldown.health(id), { cooldownMs: 2_000, openUntil: Number }, 'cool-down doubled')

  a.behaviour(undefined)
  await until('half-open again', () => app.cooldown.health(id).state === 'half_open')
  const probeOk = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
  t.equal(probeOk.headers['x-switchyard-deployment'], id, 'the probe answered')
  t.equal(a.requests.length, 5)
  t.match(app.cooldown.health(id), { state: 'closed', cooldownMs: 0, openUntil: null })
  const after = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
  t.equal(after.headers['x-switchyard-deployment'], id, 'back in rotation')
})

test('every deployment cooling down: 503 with retry-after at once, no upstream contacted', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, {
    gateway: resilienceConfig(a, b, [duo('m')], { cooldown: { consecutiveFailures: 3, cooldownMs: 60_000 } }),
  })
  a.behaviour(() => serverError)
  b.behaviour(() => serverError)
  const first = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
  t.equal(first.statusCode, 500)
  t.equal(first.headers['x-switchyard-attempts'], '6')
  t.equal(a.requests.length, 3)
  t.equal(b.requests.length, 3)

  const cooling = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
  t.equal(cooling.statusCode, 503)
  t.equal(cooling.json().error.code, 'all_deployments_cooling_down')
  t.equal(cooling.json().error.type, 'server_error')
  const retryAfter = Number(cooling.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `retry-after ${cooling.headers['retry-after']} is when the first one reopens`)
  t.equal(a.requests.length, 3, 'no upstream was contacted')
  t.equal(b.requests.length, 3)
})

test('client errors never open a circuit', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, { gateway: resilienceConfig(a, b, [duo('m')], { cooldown: { consecutiveFailures: 2 } }) })
  a.behaviour(() => ({ status: 422, body: { error: { message: 'unprocessable', type: 'invalid_request_error' } } }))
  for (let i = 0; i < 4; i++) {
    const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
    t.equal(res.statusCode, 422)
  }
  t.equal(a.requests.length, 4, 'a keeps getting the traffic')
  t.match(app.cooldown.health('m:a:up-a'), { state: 'closed', failures: 0 })
})
