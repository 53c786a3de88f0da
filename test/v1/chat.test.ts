import { before, test } from 'tap'
import { request } from 'undici'
import { mockUsage, startMockOpenAI } from '../mocks/openai.js'
import { auth, buildTestApp, listenTestApp, MASTER_KEY, openaiConfig } from '../helpers/app.js'
import { sseData } from '../helpers/sse.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const json = { ...auth, 'content-type': 'application/json' }

test('non-streaming chat is forwarded byte for byte except the model', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: openaiConfig(up.url) })
  // Unusual spacing, key order, an unknown field and a nested "model" key must survive.
  const raw = '{ "messages":[{"role":"user","content":"hi \\"model\\": x"}],\n "model" : "gpt-test", "x_custom":{"model":"keep"}, "temperature":0.50 }'
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: raw })
  t.equal(res.statusCode, 200)
  t.equal(up.requests.length, 1)
  t.equal(up.requests[0]!.raw, raw.replace('"model" : "gpt-test"', '"model" : "upstream-model-1"'))
  t.equal(up.requests[0]!.url, '/v1/chat/completions')
  t.equal(up.requests[0]!.headers.authorization, 'Bearer sk-upstream-secret')
  const body = res.json()
  t.equal(body.choices[0].message.content, 'echo: hi "model": x')
  t.equal(res.headers['x-switchyard-provider'], 'up')
  t.equal(res.headers['x-switchyard-deployment'], 'gpt-test:up:upstream-model-1')
  t.equal(res.headers['x-switchyard-model'], 'upstream-model-1')
  t.equal(res.headers['x-switchyard-attempts'], '1')
  t.match(res.headers['x-request-id'], /^req_[0-9a-f]{32}$/)
  t.ok(Number(res.headers['x-switchyard-overhead-ms']) >= 0)
})

test('aliases, default model and model_not_found', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: openaiConfig(up.url) })
  const alias = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'gpt-test-alias', messages: [{ role: 'user', content: 'a' }] } })
  t.equal(alias.statusCode, 200)
  t.equal(up.requests[0]!.body!.model, 'upstream-model-1')

  const unknown = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'nope', messages: [{ role: 'user', content: 'a' }] } })
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), {
    error: { message: 'The model "nope" does not exist or is not served by this gateway.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' },
  })

  const withDefault = await buildTestApp(t, { gateway: openaiConfig(up.url, { routing: { defaultModel: 'gpt-test' } }) })
  const routed = await withDefault.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'nope', messages: [{ role: 'user', content: 'a' }] } })
  t.equal(routed.statusCode, 200)
  t.equal(routed.headers['x-switchyard-deployment'], 'gpt-test:up:upstream-model-1')
})

test('wildcard patterns pass the upstream id through; one deployment per pattern, not per name', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const cfg = openaiConfig(up.url, { routing: { patterns: [{ match: 'llama-*', provider: 'up' }] } })
  const app = await buildTestApp(t, { gateway: cfg })
  for (const model of ['llama-3.1-70b', 'llama-3.1-8b']) {
    const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model, messages: [{ role: 'user', content: 'a' }] } })
    t.equal(res.statusCode, 200)
    t.equal(up.requests.at(-1)!.body!.model, model, 'the upstream gets the name the client sent')
    t.equal(res.headers['x-switchyard-model'], model)
    t.equal(res.headers['x-switchyard-deployment'], 'pattern:up:llama-*', 'statistics are kept per pattern')
  }
  t.same(app.latency.tracker.snapshot({ windowMs: 60_000, now: Date.now() }).map((s) => [s.deploymentId, s.model, s.count]), [['pattern:up:llama-*', 'llama-*', 2]])
})

test('auth: missing, wrong, bearer and x-api-key', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: openaiConfig(up.url) })
  const payload = { model: 'gpt-test', messages: [{ role: 'user', content: 'a' }] }
  const missing = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload })
  t.equal(missing.statusCode, 401)
  t.equal(missing.json().error.code, 'missing_api_key')
  const wrong = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: 'Bearer sk-wrong-key' }, payload })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().error.code, 'invalid_api_key')
  t.notMatch(wrong.body, /sk-wrong-key/, 'the key is not echoed')
  const viaHeader = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { 'x-api-key': MASTER_KEY }, payload })
  t.equal(viaHeader.statusCode, 200)
  t.equal(up.requests.length, 1, 'rejected requests never reach the upstream')
})

test('streaming passes chunks through and honours include_usage', async (t) => {
  const up = await startMockOpenAI({ streamChunks: 5 })
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: openaiConfig(up.url) })

  const plain = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'a' }] } })
  t.equal(plain.statusCode, 200)
  t.match(plain.headers['content-type'], /^text\/event-stream/)
  // The gateway asks the upstream for usage even though the client did not...
  t.same(up.requests[0]!.body!.stream_options, { include_usage: true })
  const events = sseData(plain.body)
  t.equal(events[events.length - 1], '[DONE]')
  const chunks = events.slice(0, -1) as Array<{ choices: unknown[]; usage?: unknown }>
  // ...and strips the usage chunk the client did not ask for.
  t.equal(chunks.filter((c) => c.choices.length === 0).length, 0)
  t.equal(chunks.length, 7, 'role chunk + 5 content chunks + finish chunk')

  const withUsage = await app.inject({
    method: 'POST', url: '/v1/chat/completions', headers: json,
    payload: { model: 'gpt-test', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'a' }] },
  })
  const usageChunks = (sseData(withUsage.body).slice(0, -1) as Array<{ choices: unknown[]; usage?: { total_tokens: number } }>).filter((c) => c.choices.length === 0)
  t.equal(usageChunks.length, 1)
  t.same(usageChunks[0]!.usage, mockUsage({ messages: [{ role: 'user', content: 'a' }] }))
})

test('bad input gets precise OpenAI errors and harms nothing', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: openaiConfig(up.url), env: { BODY_LIMIT_BYTES: '2048' } })
  const post = (payload: string, headers: Record<string, string> = json) => app.inject({ method: 'POST', url: '/v1/chat/completions', headers, payload })

  const malformed = await post('{"model": "gpt-test", ')
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.json().error.code, 'invalid_json')

  const missingModel = await post(JSON.stringify({ messages: [{ role: 'user', content: 'a' }] }))
  t.equal(missingModel.statusCode, 400)
  t.equal(missingModel.json().error.param, 'model')
  t.match(missingModel.json().error.message, /Missing required parameter: 'model'/)

  const wrongType = await post(JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'a' }], temperature: 'hot' }))
  t.equal(wrongType.statusCode, 400)
  t.equal(wrongType.json().error.param, 'temperature')

  const badRole = await post(JSON.stringify({ model: 'gpt-test', messages: [{ role: 'wizard', content: 'a' }] }))
  t.equal(badRole.statusCode, 400)
  t.equal(badRole.json().error.param, 'messages[0].role')

  const tooLarge = await post(JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'x'.repeat(4096) }] }))
  t.equal(tooLarge.statusCode, 413)
  t.equal(tooLarge.json().error.code, 'request_too_large')

  const notObject = await post('[1,2]')
  t.equal(notObject.statusCode, 400)

  const wrongContentType = await post('model=gpt-test', { ...auth, 'content-type': 'application/x-www-form-urlencoded' })
  t.equal(wrongContentType.statusCode, 415)
  t.equal(wrongContentType.json().error.code, 'unsupported_media_type')

  const unknownRoute = await app.inject({ method: 'GET', url: '/v1/nothing', headers: auth })
  t.equal(unknownRoute.statusCode, 404)
  t.equal(unknownRoute.json().error.code, 'not_found')

  t.equal(up.requests.length, 0, 'nothing reached the upstream')
  const ok = await post(JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'still fine' }] }))
  t.equal(ok.statusCode, 200, 'the gateway keeps serving')
})

test('upstream failures map to 502/504 in OpenAI shape', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  // One attempt per request and no circuit breaker: this pins how single
  // failures are mapped (retries and cool-downs: test/resilience/).
  const cfg = openaiConfig(up.url, { routing: { strategy: 'model', retries: { attempts: 0 }, cooldown: { enabled: false } } })
  ;(cfg.providers[0] as Record<string, unknown>).timeouts = { firstByteMs: 300, streamFirstByteMs: 300 }
  const app = await buildTestApp(t, { gateway: cfg })
  const payload = { model: 'gpt-test', messages: [{ role: 'user', content: 'a' }] }

  up.script({ raw: '<html>bad gateway</html>', contentType: 'text/html' })
  const garbage = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload })
  t.equal(garbage.statusCode, 502)
  t.equal(garbage.json().error.code, 'bad_upstream_response')

  up.script({ status: 400, body: { error: { message: 'bad temperature', type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } } })
  const upstream400 = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload })
  t.equal(upstream400.statusCode, 400)
  t.same(upstream400.json(), { error: { message: 'bad temperature', type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } })

  up.script({ status: 503, body: 'overloaded', headers: { 'content-type': 'text/plain' } })
  const unavailable = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload })
  t.equal(unavailable.statusCode, 502)
  t.match(unavailable.json().error.message, /upstream returned 503/)

  up.script({ hang: true })
  const timeout = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload })
  t.equal(timeout.statusCode, 504)
  t.equal(timeout.json().error.code, 'upstream_timeout')

  const after = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload })
  t.equal(after.statusCode, 200)
})

test('a stream the upstream cuts ends with an SSE error event', async (t) => {
  const up = await startMockOpenAI({ streamChunks: 6 })
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: openaiConfig(up.url) })
  up.script({ cutAfterChunks: 3 })
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'a' }] } })
  t.equal(res.statusCode, 200)
  const events = sseData(res.body)
  const last = events[events.length - 1] as { error?: { type: string; message: string } }
  t.ok(last.error, 'the last event is an error')
  t.notOk(events.includes('[DONE]'))
  t.ok(events.length >= 3, 'the chunks before the cut were delivered')
})

test('a client that disconnects mid-stream cancels the upstream request', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  let upstreamClosed!: () => void
  const closed = new Promise<void>((r) => (upstreamClosed = r))
  // An upstream that streams slowly forever until its client goes away.
  up.behaviour(() => ({ hang: true }))
  up.server.prependListener('request', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const timer = setInterval(() => res.write('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"."},"finish_reason":null}]}\n\n'), 20)
    res.on('close', () => {
      clearInterval(timer)
      upstreamClosed()
    })
  })
  const { url } = await listenTestApp(t, { gateway: openaiConfig(up.url) })
  const controller = new AbortController()
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'a' }] }),
    signal: controller.signal,
  })
  t.equal(res.statusCode, 200)
  for await (const chunk of res.body) {
    if (String(chunk).includes('data:')) break
  }
  controller.abort()
  await closed
  t.pass('the upstream connection was closed after the client left')
})

test('embeddings and models', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: openaiConfig(up.url) })
  const emb = await app.inject({ method: 'POST', url: '/v1/embeddings', headers: json, payload: { model: 'embed-test', input: ['a', 'b'] } })
  t.equal(emb.statusCode, 200)
  t.equal(up.requests[0]!.url, '/v1/embeddings')
  t.equal(up.requests[0]!.body!.model, 'upstream-embed')
  t.equal(emb.json().data.length, 2)
  t.equal(emb.headers['x-switchyard-deployment'], 'embed-test:up:upstream-embed')

  const models = await app.inject({ method: 'GET', url: '/v1/models', headers: auth })
  t.equal(models.statusCode, 200)
  t.same(models.json().data.map((m: { id: string }) => m.id), ['gpt-test', 'gpt-test-alias', 'embed-test'])
  t.equal(models.json().object, 'list')
})

test('azure: deployment URL, api-version and api-key header', async (t) => {
  const up = await startMockOpenAI({ azure: true, apiKey: 'azure-secret' })
  t.teardown(() => up.close())
  const app = await buildTestApp(t, {
    gateway: {
      providers: [{ name: 'az', type: 'azure', baseUrl: up.url, apiKey: 'azure-secret', apiVersion: '2024-06-01' }],
      models: [{ name: 'gpt-az', deployments: [{ provider: 'az', model: 'my-gpt4o-deployment' }] }],
    },
  })
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'gpt-az', messages: [{ role: 'user', content: 'a' }] } })
  t.equal(res.statusCode, 200)
  t.equal(up.requests[0]!.url, '/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-06-01')
  t.equal(up.requests[0]!.headers['api-key'], 'azure-secret')
  t.equal(up.requests[0]!.headers.authorization, undefined)
})

test('the built-in mock provider answers with no upstream', async (t) => {
  const app = await buildTestApp(t, {
    gateway: { providers: [{ name: 'mock', type: 'mock' }], models: [{ name: 'm', deployments: [{ provider: 'mock' }] }] },
  })
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'm', messages: [{ role: 'user', content: 'ping' }] } })
  t.equal(res.statusCode, 200)
  t.match(res.json().choices[0].message.content, /ping/)
  const stream = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'm', stream: true, messages: [{ role: 'user', content: 'ping' }] } })
  const events = sseData(stream.body)
  t.equal(events[events.length - 1], '[DONE]')
  t.match((events as Array<{ choices?: Array<{ delta: { content?: string } }> }>).map((e) => e.choices?.[0]?.delta.content ?? '').join(''), /ping/)
})
