// Clients misbehaving, over real sockets: oversized, malformed, deeply nested
// and huge-but-valid bodies, wrong content types, and clients that vanish in
// the middle of their request or of the answer. The gateway must answer each
// precisely, forward nothing it should not, and never crash.
import t, { test } from 'tap'
import { connect } from 'node:net'
import { Readable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import { Agent, request } from 'undici'
import type { FastifyInstance } from 'fastify'
import { auth, listenTestApp } from '../helpers/app.js'
import { bounded, until } from '../helpers/resilience.js'
import { rawUpstream, recordProcessErrors, streamEvents, type RawUpstream } from '../helpers/chaos.js'

const json = { ...auth, 'content-type': 'application/json' }
const BODY_LIMIT = 4 * 1024 * 1024

// Every stray error of the whole file; checked by the last test.
const stray = recordProcessErrors()
t.teardown(() => stray.stop())

interface Tap {
  teardown(fn: () => unknown): void
}

function gateway(up: RawUpstream) {
  return {
    providers: [{ name: 'up', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'sk-up' }],
    models: [{ name: 'm', deployments: [{ id: 'dep', provider: 'up', model: 'up-model', pricing: { input: 1, output: 1 } }] }],
    routing: { strategy: 'model', retries: { baseMs: 1, capMs: 5 } },
  }
}

/** A gateway listening on 127.0.0.1:0 in front of a scriptable upstream, and an undici agent of its own. */
async function setup(t: Tap) {
  const up = await rawUpstream(t)
  const { app, url } = await listenTestApp(t, { gateway: gateway(up) })
  const agent = new Agent({ keepAliveTimeout: 1_000 })
  t.teardown(() => agent.close())
  const post = async (body: string | Buffer | Readable, headers: Record<string, string> = json, path = '/v1/chat/completions') => {
    const res = await bounded('the gateway answers', request(`${url}${path}`, { method: 'POST', headers, body, dispatcher: agent }))
    const text = await res.body.text()
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as { error: Record<string, unknown> } & Record<string, unknown> }
  }
  return { up, app, url, agent, post }
}

async function records(app: FastifyInstance) {
  await app.usage.flush()
  return app.db.usageRecord.findMany({ orderBy: { createdAt: 'asc' } })
}

const ok = (content: string) => JSON.stringify({ model: 'm', messages: [{ role: 'user', content }] })

test('a 10 MB body: 413 request_too_large in OpenAI shape, sized or chunked, nothing forwarded', async (t) => {
  const { up, post } = await setup(t)
  const big = Buffer.alloc(10 * 1024 * 1024, 'a')
  const expected = {
    error: { message: `The request body exceeds the limit of ${BODY_LIMIT} bytes.`, type: 'invalid_request_error', param: null, code: 'request_too_large' },
  }

  // With a content-length: refused from the header, before the body is read.
  const sized = await post(big)
  t.equal(sized.status, 413)
  t.match(sized.headers['content-type'], /^application\/json/)
  t.same(sized.json(), expected)

  // Chunked, no length announced: refused once 4 MB have arrived.
  async function* chunks() {
    for (let i = 0; i < big.length; i += 64 * 1024) yield big.subarray(i, i + 64 * 1024)
  }
  const chunked = await post(Readable.from(chunks()))
  t.equal(chunked.status, 413)
  t.same(chunked.json(), expected)

  t.equal(up.requests.length, 0, 'nothing reached the upstream')
  const after = await post(ok('small again'))
  t.equal(after.status, 200, 'the next request is served')
})

test('invalid UTF-8 inside a JSON string: decoded with U+FFFD replacements and forwarded as valid UTF-8', async (t) => {
  const { up, post } = await setup(t)
  // 0xFF never occurs in UTF-8; 0xC3 announces a 2-byte character that "(" does not continue.
  const body = Buffer.concat([Buffer.from('{"model":"m","messages":[{"role":"user","content":"a'), Buffer.from([0xff, 0xc3]), Buffer.from('(b"}]}')])
  const res = await post(body)
  t.equal(res.status, 200)
  t.equal((res.json().choices as Array<{ message: { content: string } }>)[0]!.message.content, 'echo: a\uFFFD\uFFFD(b', 'the upstream saw two replacement characters')

  t.equal(up.requests.length, 1)
  const sent = up.requests[0]!.bytes
  const expected = Buffer.from('{"model":"up-model","messages":[{"role":"user","content":"a\uFFFD\uFFFD(b"}]}')
  t.ok(sent.equals(expected), `forwarded bytes: ${sent.toString('hex')}`)
  t.notOk(sent.includes(0xff), 'the invalid byte itself is not forwarded')
  t.equal(up.requests[0]!.headers['content-length'], String(expected.length), 'the length of the re-encoded body')
})

test('deeply nested JSON: 400 at once, no stack overflow, nothing forwarded', async (t) => {
  const { up, post } = await setup(t)
  const depth = 100_000
  const prefix = '{"model":"m","messages":[{"role":"user","content":"hi"}],"x_unknown":'

  const unterminated = await post(`${prefix}${'['.repeat(depth)}}`)
  t.equal(unterminated.status, 400)
  t.match(unterminated.json(), { error: { type: 'invalid_request_error', code: 'invalid_json', param: null } })

  const balanced = await post(`${prefix}${'['.repeat(depth)}${']'.repeat(depth)}}`)
  t.equal(balanced.status, 400)
  t.same(balanced.json(), {
    error: { message: 'The request body nests arrays or objects more than 256 levels deep.', type: 'invalid_request_error', param: null, code: 'invalid_request_body' },
  })

  // Objects count too, and a known field is no exception.
  const objects = await post(`{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}]}`)
  t.equal(objects.status, 400)
  t.equal(objects.json().error.code, 'invalid_request_body')

  // Brackets inside strings are text, not nesting: such a body is fine.
  const inString = await post(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: '['.repeat(10_000) + '\\"{'.repeat(1_000) }] }))
  t.equal(inString.status, 200, 'brackets and escaped quotes inside a string do not count')
  // A reasonable depth (a JSON schema 50 levels deep) passes.
  const reasonable = await post(`${prefix}${'['.repeat(50)}${']'.repeat(50)}}`)
  t.equal(reasonable.status, 200)

  t.equal(up.requests.length, 2, 'only the two acceptable bodies were forwarded')
})

test('5000 messages: accepted and forwarded whole', async (t) => {
  const { up, app, post } = await setup(t)
  const messages = Array.from({ length: 5000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i}` }))
  messages.push({ role: 'user', content: 'the last one' })
  const raw = JSON.stringify({ model: 'm', messages })
  const res = await post(raw)
  t.equal(res.status, 200)
  t.equal((res.json().choices as Array<{ message: { content: string } }>)[0]!.message.content, 'echo: the last one')
  t.equal(up.requests.length, 1)
  t.equal(up.requests[0]!.bytes.toString('utf8'), raw.replace('"model":"m"', '"model":"up-model"'), 'byte for byte, only the model rewritten')
  t.equal((up.requests[0]!.body!.messages as unknown[]).length, 5001)
  const [row] = await records(app)
  t.match(row, { status: 200, model: 'm', deploymentId: 'dep' })
})

test('wrong content types: 415 unsupported_media_type naming the type, nothing forwarded', async (t) => {
  const { up, post } = await setup(t)
  const body = ok('x')
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=zzz', 'application/jsonx']) {
    const res = await post(body, { ...auth, 'content-type': type })
    t.equal(res.status, 415, type)
    t.same(res.json(), {
      error: { message: `Unsupported content-type "${type}": send application/json.`, type: 'invalid_request_error', param: null, code: 'unsupported_media_type' },
    }, `${type}: OpenAI shape, the type named`)
  }
  const none = await post(body, { ...auth })
  t.equal(none.status, 415, 'no content-type at all')
  t.equal(none.json().error.message, 'Unsupported content-type "none": send application/json.')

  t.equal(up.requests.length, 0)
  const charset = await post(body, { ...auth, 'content-type': 'application/json; charset=utf-8' })
  t.equal(charset.status, 200, 'application/json with a charset is fine')
})

/** Opens a raw connection, sends `head` and part of the body, then destroys the socket. */
async function abandon(url: string, head: string, part: string, pauseMs: number): Promise<void> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  socket.write(head)
  socket.write(part)
  await delay(pauseMs)
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve())
    socket.destroy()
  })
}

async function openConnections(app: FastifyInstance): Promise<number> {
  return new Promise((resolve, reject) => app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))))
}

test('a client that vanishes mid-request: no crash, nothing forwarded, nothing recorded', async (t) => {
  const { up, app, url, post } = await setup(t)
  const body = ok('never finished')
  const half = body.slice(0, Math.floor(body.length / 2))
  const head = (extra: string) => `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: ${auth.authorization}\r\ncontent-type: application/json\r\n${extra}\r\n`

  // Sized body, half sent; at once and after the gateway started reading it.
  await abandon(url, head(`content-length: ${body.length}\r\n`), half, 0)
  await abandon(url, head(`content-length: ${body.length}\r\n`), half, 100)
  // Chunked, one chunk of two sent.
  await abandon(url, head('transfer-encoding: chunked\r\n'), `${half.length.toString(16)}\r\n${half}\r\n`, 100)
  // Headers cut short.
  await abandon(url, '', `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-ty`, 50)

  await until('the gateway dropped those connections', async () => (await openConnections(app)) === 0, 5_000)
  t.equal(up.requests.length, 0, 'nothing was forwarded upstream')
  const after = await post(ok('still here'))
  t.equal(after.status, 200, 'the gateway still serves')
  t.equal(up.requests.length, 1)
  const rows = await records(app)
  t.same(rows.map((r) => r.status), [200], 'only the completed request is recorded')
})

test('a client that vanishes mid-stream: the record says 499 client_closed, never a success', async (t) => {
  const { up, app, url, agent } = await setup(t)
  up.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const [first, ...rest] = streamEvents('chatcmpl-forever', Array.from({ length: 1_000 }, (_, i) => `t${i} `))
    res.write(first)
    let i = 0
    const timer = setInterval(() => res.write(rest[i++ % (rest.length - 2)]), 20)
    res.on('close', () => clearInterval(timer))
  })
  const controller = new AbortController()
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST', headers: json, dispatcher: agent, signal: controller.signal,
    body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'go' }] }),
  })
  t.equal(res.statusCode, 200)
  let received = ''
  try {
    for await (const chunk of res.body) {
      received += String(chunk)
      if ((received.match(/data: /g) ?? []).length >= 3) break
    }
  } catch {
    // The abort below may surface here; either way the client is gone.
  }
  controller.abort()
  await until('the upstream request was cancelled', () => up.closed === 1, 5_000)

  let rows: Awaited<ReturnType<typeof records>> = []
  await until('the outcome is recorded', async () => (rows = await records(app)).length === 1, 5_000)
  t.match(rows[0], { status: 499, error: 'client_closed', stream: true, deploymentId: 'dep', model: 'm' })
  t.match(app.cooldown.health('dep'), { failures: 0, consecutiveFailures: 0 }, 'a client leaving is not the deployment\'s fault')
})

test('no unhandled rejection or uncaught exception during the file', async (t) => {
  // Let late errors of the tests above surface.
  await delay(100)
  t.same(stray.errors, [])
})
