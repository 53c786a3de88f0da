// Upstreams misbehaving at the byte level: answers dribbled slowly, 200s with
// bodies that are not JSON, streams that are not SSE, connections closed
// before the headers. For each: the documented outcome, what is recorded, the
// gateway still serving the next request, and no socket or timer left behind.
import { test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { completionFor } from '../mocks/openai.js'
import { auth } from '../helpers/app.js'
import { bounded } from '../helpers/resilience.js'
import { sseData } from '../helpers/sse.js'
import { chaosApp, dribble, LEAK_TYPES, rawUpstream, resourceCounts, settleResources, streamEvents, type RawUpstream } from '../helpers/chaos.js'

const json = { ...auth, 'content-type': 'application/json' }

/** The `t` of a test. */
type Tap = Parameters<Parameters<typeof test>[0]>[0]

/** One model "m", one deployment "dep" on `up`; retries with millisecond backoffs. */
function gateway(up: RawUpstream, model: Record<string, unknown> = {}, routing: Record<string, unknown> = {}) {
  return {
    providers: [{ name: 'up', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'sk-up' }],
    models: [{ name: 'm', deployments: [{ id: 'dep', provider: 'up', model: 'up-model', pricing: { input: 1, output: 1 } }], ...model }],
    routing: { strategy: 'model', retries: { baseMs: 1, capMs: 5 }, ...routing },
  }
}

const chat = (app: FastifyInstance, extra: Record<string, unknown> = {}, content = 'hello') =>
  bounded('the gateway answers', app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'm', messages: [{ role: 'user', content }], ...extra } }))

async function records(app: FastifyInstance) {
  await app.usage.flush()
  return app.db.usageRecord.findMany({ orderBy: { createdAt: 'asc' } })
}

/** The gateway keeps serving: a plain request after the chaos answers normally. */
async function stillServes(t: Tap, app: FastifyInstance, up: RawUpstream) {
  up.handle(undefined)
  const res = await chat(app, {}, 'after the chaos')
  t.equal(res.statusCode, 200, 'the next request is served')
  t.equal(res.json().choices[0].message.content, 'echo: after the chaos')
}

/** After the app and the upstream are closed, no more sockets, servers or timers than before the test. */
async function noLeaks(t: Tap, baseline: ReturnType<typeof resourceCounts>, close: Array<() => Promise<void>>) {
  for (const c of close) await c()
  const after = await settleResources(baseline)
  for (const k of LEAK_TYPES) t.ok(after[k] <= baseline[k], `${k}: ${after[k]} after teardown, ${baseline[k]} before the test`)
}

type Event = { choices?: Array<{ delta: { content?: string } }>; usage?: Record<string, number>; error?: { code: string | null; type: string; message: string } }
const text = (events: unknown[]) => (events as Event[]).map((e) => (typeof e === 'object' ? e.choices?.[0]?.delta.content ?? '' : '')).join('')

test('a slow upstream: a JSON body dribbled byte by byte and a slow stream arrive intact', async (t) => {
  const baseline = resourceCounts()
  const up = await rawUpstream(t)
  const { app, close } = await chaosApp(t, gateway(up, { timeouts: { firstByteMs: 20_000, streamFirstByteMs: 20_000, totalMs: 30_000 } }))

  // Non-streamed: one byte every 2 ms, multi-byte characters split across writes.
  const content = 'slow 🐢 ünïcode ✓'
  let sent = ''
  up.handle(async (_req, res, received) => {
    sent = JSON.stringify(completionFor(received.body, 'chatcmpl-slow'))
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(sent) })
    await dribble(res, sent, 2)
    res.end()
  })
  const plain = await chat(app, {}, content)
  t.equal(plain.statusCode, 200)
  t.equal(plain.body, sent, 'the body is the upstream body, byte for byte')
  t.equal(plain.json().choices[0].message.content, `echo: ${content}`)
  t.ok(Buffer.byteLength(sent) > 300, `${Buffer.byteLength(sent)} single-byte writes`)

  // Streamed: every event cut into 5-byte slices, 3 ms apart.
  const parts = ['Bon', 'jour ', 'à ', 'tous ', '🌍', '!']
  up.handle(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    await dribble(res, streamEvents('chatcmpl-drip', parts, { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 }).join(''), 3, 5)
    res.end()
  })
  const streamed = await chat(app, { stream: true, stream_options: { include_usage: true } })
  t.equal(streamed.statusCode, 200)
  const events = sseData(streamed.body) as Event[]
  t.equal(text(events), parts.join(''), 'every piece of text, in order, characters whole')
  t.equal(events.filter((e) => typeof e === 'object' && e.error).length, 0, 'no error event')
  t.same(events.find((e) => typeof e === 'object' && e.usage)?.usage, { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 })
  t.equal(events[events.length - 1], '[DONE]')

  const rows = await records(app)
  t.same(rows.map((r) => [r.status, r.stream, r.error]), [[200, false, null], [200, true, null]], 'both recorded as successes')
  t.equal(rows[1]!.completionTokens, 6, 'with the usage of the slow stream')
  t.same(rows.map((r) => r.attempts), [1, 1], 'one attempt each')
  await stillServes(t, app, up)
  await noLeaks(t, baseline, [close, up.close])
})

test('slower than totalMs: 504 for a dribbled body, an SSE timeout event for a stream, both recorded', async (t) => {
  const baseline = resourceCounts()
  const up = await rawUpstream(t)
  // The first-byte deadlines are generous: only totalMs can fire.
  const { app, close } = await chaosApp(t, gateway(up, { timeouts: { firstByteMs: 20_000, streamFirstByteMs: 20_000, totalMs: 400 }, retries: { attempts: 0 } }))

  up.handle(async (_req, res, received) => {
    const body = JSON.stringify(completionFor(received.body, 'chatcmpl-late'))
    res.writeHead(200, { 'content-type': 'application/json' })
    // ~300 bytes at one per 20 ms: 6 s, far beyond 400 ms.
    await dribble(res, body, 20)
    res.end()
  })
  const plain = await chat(app)
  t.equal(plain.statusCode, 504)
  t.match(plain.json(), { error: { type: 'timeout_error', code: 'upstream_timeout', message: /total deadline/ } })
  t.equal(plain.headers['x-switchyard-attempts'], '1')
  t.equal(up.requests.length, 1)
  await bounded('the upstream request is cancelled', (async () => { while (up.closed < 1) await new Promise((r) => setTimeout(r, 10)) })(), 5_000)

  up.handle(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const events = streamEvents('chatcmpl-late', Array.from({ length: 40 }, (_, i) => `w${i} `))
    // The first events at once, then one every 100 ms: 4 s in all.
    res.write(events.slice(0, 2).join(''))
    for (const e of events.slice(2)) if (!(await dribble(res, e, 100, e.length))) return
    res.end()
  })
  const streamed = await chat(app, { stream: true })
  t.equal(streamed.statusCode, 200, 'the stream had started')
  const events = sseData(streamed.body) as Event[]
  const last = events[events.length - 1]!
  t.match(last, { error: { code: 'upstream_timeout', type: 'timeout_error' } }, 'it ends with a timeout event')
  t.notOk((events as unknown[]).includes('[DONE]'))
  t.ok(text(events).startsWith('w0 '), 'what arrived in time was delivered')
  t.ok(text(events).length < 40 * 3, 'but not the rest')
  t.equal(up.requests.length, 2, 'not retried')

  const rows = await records(app)
  t.same(rows.map((r) => [r.status, r.error, r.stream, r.attempts]), [[504, 'upstream_timeout', false, 1], [504, 'upstream_timeout', true, 1]], 'both timeouts recorded')
  t.match(app.cooldown.health('dep'), { failures: 2, lastError: 'upstream_timeout' }, 'and counted against the deployment')
  await stillServes(t, app, up)
  await noLeaks(t, baseline, [close, up.close])
})

test('a 200 whose body is not JSON: retried, then 502 bad_upstream_response, recorded as a failure', async (t) => {
  const baseline = resourceCounts()
  const up = await rawUpstream(t)
  const { app, close } = await chaosApp(t, gateway(up))
  // Three kinds of garbage, one per attempt (first try + 2 retries).
  const garbage = [
    '{"id":"chatcmpl-x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"cut',
    '',
    'null',
  ]
  let n = 0
  up.handle((_req, res) => {
    const body = garbage[n++ % garbage.length]!
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
  const res = await chat(app)
  t.equal(res.statusCode, 502)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.same(Object.keys(res.json().error).sort(), ['code', 'message', 'param', 'type'], 'OpenAI error shape')
  t.match(res.json().error, { type: 'upstream_error', code: 'bad_upstream_response', param: null, message: /not (valid JSON|a JSON object)/ })
  t.equal(res.headers['x-switchyard-attempts'], '3', 'an unusable response is retried (2 retries by default)')
  t.equal(up.requests.length, 3)

  const rows = await records(app)
  t.equal(rows.length, 1, 'one record for the request')
  t.match(rows[0], { model: 'm', status: 502, error: 'bad_upstream_response', attempts: 3, stream: false, promptTokens: 0, costUsd: 0 })
  t.match(app.cooldown.health('dep'), { consecutiveFailures: 3, lastError: 'bad_upstream_response' }, 'each garbage answer is a deployment fault')
  await stillServes(t, app, up)
  await noLeaks(t, baseline, [close, up.close])
})

test('streams that are not JSON or not SSE: passed through or ended with an error event, never a hang', async (t) => {
  const baseline = resourceCounts()
  const up = await rawUpstream(t)
  const { app, close } = await chaosApp(t, gateway(up, { retries: { attempts: 0 } }))

  // SSE framing, payloads that are not JSON: forwarded untouched.
  up.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end('data: hello, plain text\n\ndata: {not json\n\n: a comment\n\ndata: [DONE]\n\n')
  })
  const passthrough = await chat(app, { stream: true })
  t.equal(passthrough.statusCode, 200)
  t.same(sseData(passthrough.body), ['hello, plain text', '{not json', '[DONE]'], 'the data events as sent, comment dropped')

  // Not SSE at all: an HTML page, then a whole JSON completion, on a stream request.
  const notSse = [
    { type: 'text/html', body: '<html><body>502 Bad Gateway</body></html>\n' },
    { type: 'application/json', body: JSON.stringify(completionFor({ messages: [{ role: 'user', content: 'x' }] }, 'chatcmpl-json')) },
  ]
  for (const { type, body } of notSse) {
    up.handle((_req, res) => {
      res.writeHead(200, { 'content-type': type })
      res.end(body)
    })
    const res = await chat(app, { stream: true })
    // Found before anything is committed to the client: a plain error answer.
    t.equal(res.statusCode, 502, `${type}: refused before the stream was committed`)
    t.match(res.json(), { error: { code: 'bad_upstream_response', type: 'upstream_error', message: new RegExp(`expected an event stream, got ${type}`) } }, `${type}: named`)
  }

  const rows = await records(app)
  t.same(rows.map((r) => [r.status, r.error, r.attempts]), [[200, null, 1], [502, 'bad_upstream_response', 1], [502, 'bad_upstream_response', 1]])
  await stillServes(t, app, up)
  await noLeaks(t, baseline, [close, up.close])
})

test('the connection closes before the headers: retried, then 502 upstream_unreachable', async (t) => {
  const baseline = resourceCounts()
  const up = await rawUpstream(t)
  // The circuit stays closed here so that every request really reaches the upstream.
  const { app, close } = await chaosApp(t, gateway(up, {}, { cooldown: { consecutiveFailures: 10 } }))
  let n = 0
  up.handle((req) => {
    const socket = req.socket
    switch (n++ % 3) {
      case 0:
        socket.destroy() // FIN, nothing written
        break
      case 1:
        socket.end('HTTP/1.1 200 OK\r\nContent-Ty') // half a status block
        break
      default:
        socket.resetAndDestroy() // RST
    }
  })
  const res = await chat(app)
  t.equal(res.statusCode, 502)
  t.match(res.json(), { error: { type: 'upstream_error', code: 'upstream_unreachable', param: null } })
  t.equal(res.headers['x-switchyard-attempts'], '3', 'a connection error is retried')
  t.equal(up.requests.length, 3)

  // The same on a stream request: nothing was sent to the client, so a plain 502.
  const streamed = await chat(app, { stream: true })
  t.equal(streamed.statusCode, 502)
  t.equal(streamed.json().error.code, 'upstream_unreachable')
  t.equal(up.requests.length, 6)

  const rows = await records(app)
  t.same(rows.map((r) => [r.status, r.error, r.attempts]), [[502, 'upstream_unreachable', 3], [502, 'upstream_unreachable', 3]])
  t.match(app.cooldown.health('dep'), { state: 'closed', consecutiveFailures: 6, lastError: 'upstream_unreachable' }, 'every reset counted against the deployment')
  await stillServes(t, app, up)
  await noLeaks(t, baseline, [close, up.close])
})

test('after resets, the gateway recovers on fresh connections', async (t) => {
  const baseline = resourceCounts()
  const up = await rawUpstream(t)
  const { app, close } = await chaosApp(t, gateway(up, { retries: { attempts: 1 } }))
  // The first attempt hits a reset, its retry a healthy upstream.
  let first = true
  up.handle((req, res, received) => {
    if (first) {
      first = false
      req.socket.destroy()
      return
    }
    up.handle(undefined)
    const body = JSON.stringify(completionFor(received.body, 'chatcmpl-ok'))
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(body)
  })
  const res = await chat(app)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-switchyard-attempts'], '2')
  t.equal(up.requests.length, 2)
  const rows = await records(app)
  t.match(rows, [{ status: 200, attempts: 2, error: null }], 'recorded as a success after two attempts')
  await stillServes(t, app, up)
  await noLeaks(t, baseline, [close, up.close])
})
