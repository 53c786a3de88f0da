// Retries of one deployment, end to end: real mock upstreams over HTTP.
import { test } from 'tap'
import { request } from 'undici'
import type { AttemptRecord } from '../../lib/proxy/engine.js'
import type { Outcome, PipelineObserver } from '../../lib/pipeline/types.js'
import { buildTestApp, listenTestApp } from '../helpers/app.js'
import { bounded, chat, duo, json, resilienceConfig, serverError, solo, twoMocks, until } from '../helpers/resilience.js'

test('500 then 200: retried on the same deployment, attempts counted', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, { gateway: resilienceConfig(a, b, [solo('m', 'a')]) })
  a.script(serverError)
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-switchyard-attempts'], '2')
  t.equal(res.headers['x-switchyard-deployment'], 'm:a:up-a')
  t.equal(res.headers['x-switchyard-fallback-model'], undefined, 'no fallback model involved')
  t.equal(res.json().choices[0].message.content, 'echo: hello')
  t.equal(a.requests.length, 2, 'the upstream saw the request twice')
  t.match(app.cooldown.health('m:a:up-a'), { state: 'closed', failures: 1, consecutiveFailures: 0 }, 'the failure counted, the success reset the streak')
})

test('retries are bounded: attempts + 1 tries, then the error with the attempt count', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, {
    gateway: resilienceConfig(a, b, [solo('m', 'a', { retries: { attempts: 1 } })], { cooldown: { enabled: false } }),
  })
  a.behaviour(() => serverError)
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
  t.equal(res.statusCode, 500)
  t.equal(res.json().error.message, 'boom')
  t.equal(res.headers['x-switchyard-attempts'], '2', 'the per-model override (1 retry) applies')
  t.equal(a.requests.length, 2)
})

test('429 with retry-after: waits for it and succeeds', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, { gateway: resilienceConfig(a, b, [solo('m', 'a')]) })
  a.script({ status: 429, body: { error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }, headers: { 'retry-after': '1' } })
  const res = await bounded('retry-after 1', app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') }))
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-switchyard-attempts'], '2')
  t.equal(a.requests.length, 2)
})

test('retry-after beyond the cap: no wait, the next deployment answers; retry-after-ms within it is honoured', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, { gateway: resilienceConfig(a, b, [duo('m')]) })
  a.script({ status: 429, body: { error: { message: 'come back later', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }, headers: { 'retry-after': '60' } })
  const far = await bounded('retry-after 60', app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') }), 8_000)
  t.equal(far.statusCode, 200)
  t.equal(far.headers['x-switchyard-deployment'], 'm:b:up-b')
  t.equal(far.headers['x-switchyard-attempts'], '2')
  t.equal(a.requests.length, 1, 'a was not retried')
  t.equal(b.requests.length, 1)

  a.script({ status: 503, body: { error: { message: 'busy', type: 'server_error' } }, headers: { 'retry-after-ms': '20' } })
  const near = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
  t.equal(near.statusCode, 200)
  t.equal(near.headers['x-switchyard-deployment'], 'm:a:up-a', 'a answered its own retry')
  t.equal(a.requests.length, 3)
  t.equal(b.requests.length, 1)
})

test('400: no retry and no fallback', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, { gateway: resilienceConfig(a, b, [duo('m', { fallbacks: ['other'] }), solo('other', 'b')]) })
  a.script({ status: 400, body: { error: { message: 'bad temperature', type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } } })
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error.code, 'invalid_value')
  t.equal(res.headers['x-switchyard-attempts'], '1')
  t.equal(a.requests.length, 1, 'one upstream request')
  t.equal(b.requests.length, 0, 'neither the other deployment nor the fallback model was tried')
  t.match(app.cooldown.health('m:a:up-a'), { failures: 0, consecutiveFailures: 0 }, 'a client error does not count against the deployment')
})

test('no first byte before the deadline: the timeout counts, the next deployment answers', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, {
    gateway: resilienceConfig(a, b, [duo('m', { timeouts: { firstByteMs: 200 }, retries: { attempts: 0 } })]),
  })
  a.script({ hang: true })
  const res = await bounded('hang', app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') }))
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-switchyard-deployment'], 'm:b:up-b')
  t.equal(res.headers['x-switchyard-attempts'], '2')
  t.equal(a.requests.length, 1)
  t.match(app.cooldown.health('m:a:up-a'), { state: 'closed', failures: 1, consecutiveFailures: 1, lastError: 'upstream_timeout' })
  t.match(app.cooldown.health('m:b:up-b'), { failures: 0 })
})

test('a client that disconnects during a backoff wait stops the retries at once', async (t) => {
  const { a, b } = await twoMocks(t)
  const attempts: AttemptRecord[] = []
  let completed!: (r: Outcome) => void
  const completion = new Promise<Outcome>((resolve) => (completed = resolve))
  const watch: PipelineObserver = { name: 'test', onAttempt: (_c, r) => attempts.push(r), onOutcome: (_c, o) => completed(o) }
  const { url } = await listenTestApp(t, { gateway: resilienceConfig(a, b, [duo('m')]), observers: [watch] })

  // 5 s is within the retry-after cap: the gateway waits, then would retry a.
  a.script({ status: 429, body: { error: { message: 'slow down', type: 'rate_limit_error' } }, headers: { 'retry-after': '5' } })
  const controller = new AbortController()
  const pending = request(`${url}/v1/chat/completions`, { method: 'POST', headers: json, body: JSON.stringify(chat('m')), signal: controller.signal })
    .then(() => 'answered', () => 'aborted')
  await until('the first attempt failed', () => attempts.length === 1)
  controller.abort()
  t.equal(await pending, 'aborted')

  const done = await bounded('the request ends without waiting out the retry-after', completion, 4_000)
  t.equal(done.status, 499, 'recorded as a client close')
  t.equal(done.attempts, 1, 'no further attempt')
  t.equal(a.requests.length, 1, 'a was not retried')
  t.equal(b.requests.length, 0, 'and nothing went to b')
  t.equal(attempts.length, 1)
})
