// Size caps on what upstreams send: a body or an SSE line/event over the cap
// fails the attempt (502 naming the cap, or an SSE error event once the
// stream has started), and the upstream connection is cut off, not drained.
import { before, test } from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { auth, buildTestApp } from '../helpers/app.js'
import { SseParser, SseTooLargeError } from '../../lib/sse.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const json = { ...auth, 'content-type': 'application/json' }
const MiB = 1024 * 1024

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** A real HTTP upstream whose answer each test scripts; counts the connections it saw closed early. */
async function upstream(t: Parameters<Parameters<typeof test>[1]>[0]) {
  let handler: Handler = (_req, res) => res.end()
  let cutOff = 0
  let onCutOff = () => {}
  const server = createServer((req, res) => {
    req.resume()
    res.once('close', () => {
      if (res.writableFinished) return
      cutOff++
      onCutOff()
    })
    req.once('end', () => handler(req, res))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise((r) => server.close(r))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answer: (h: Handler) => (handler = h),
    /** Resolves once an answer was cut off by the gateway (its close reaches the server a moment after). */
    cutOff: () => (cutOff > 0 ? Promise.resolve(true) : new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000)
      onCutOff = () => {
        clearTimeout(timer)
        resolve(true)
      }
    })),
  }
}

/** Writes `chunk` forever (until the gateway hangs up): a drain would never end. */
function endless(res: ServerResponse, chunk: Buffer): void {
  const write = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', write)
  }
  write()
}

const completion = JSON.stringify({ id: 'c1', object: 'chat.completion', created: 1, model: 'up', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })
const chunkEvent = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] })}\n\n`

async function setup(t: Parameters<Parameters<typeof test>[1]>[0]) {
  const up = await upstream(t)
  const app = await buildTestApp(t, {
    gateway: {
      providers: [{ name: 'up', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'sk-upstream' }],
      models: [{ name: 'm', deployments: [{ provider: 'up' }] }],
      routing: { retries: { attempts: 0 }, cooldown: { enabled: false } },
    },
    env: { UPSTREAM_MAX_BODY_BYTES: String(MiB), UPSTREAM_MAX_EVENT_BYTES: String(64 * 1024) },
  })
  const post = (stream: boolean) =>
    app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] } })
  const stillServes = async () => {
    up.answer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(completion))
    const res = await post(false)
    t.equal(res.statusCode, 200, 'the gateway serves the next request')
    t.equal(app.latency.inflight.total(), 0, 'nothing is left in flight')
  }
  return { app, up, post, stillServes }
}

test('a non-streamed body over UPSTREAM_MAX_BODY_BYTES: 502 naming the cap, announced or counted', async (t) => {
  const { up, post, stillServes } = await setup(t)

  up.answer((_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * MiB) }).end())
  const announced = await post(false)
  t.equal(announced.statusCode, 502)
  t.match(announced.json().error, { code: 'upstream_response_too_large', message: /1048576 bytes \(UPSTREAM_MAX_BODY_BYTES\)/ })

  // Chunked and endless: before the cap this buffered until memory ran out.
  up.answer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    endless(res, Buffer.alloc(64 * 1024, ' '))
  })
  const counted = await post(false)
  t.equal(counted.statusCode, 502)
  t.equal(counted.json().error.code, 'upstream_response_too_large')
  t.ok(await up.cutOff(), 'the upstream connection was cut off')
  await stillServes()
})

test('an endless error body is read only in part', async (t) => {
  const { up, post, stillServes } = await setup(t)
  up.answer((_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' })
    res.write('{"error":{"message":"boom","type":"server_error"}}')
    endless(res, Buffer.alloc(64 * 1024, ' '))
  })
  const res = await post(false)
  t.equal(res.statusCode, 500, 'the upstream status, without reading the rest')
  await stillServes()
})

test('an SSE line over UPSTREAM_MAX_EVENT_BYTES before any event: 502 naming the cap', async (t) => {
  const { up, post, stillServes } = await setup(t)
  up.answer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: ')
    endless(res, Buffer.alloc(16 * 1024, 'x'))
  })
  const res = await post(true)
  t.equal(res.statusCode, 502, 'before: a 200 was committed and the line buffered without end')
  t.match(res.json().error, { code: 'upstream_response_too_large', message: /65536 bytes \(UPSTREAM_MAX_EVENT_BYTES\)/ })
  t.ok(await up.cutOff(), 'the upstream connection was cut off')
  await stillServes()
})

test('an SSE line or event over the cap mid-stream: the stream ends with an error event naming it', async (t) => {
  const { up, post, stillServes } = await setup(t)
  up.answer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(chunkEvent)
    res.write('data: ')
    endless(res, Buffer.alloc(16 * 1024, 'x'))
  })
  const line = await post(true)
  t.equal(line.statusCode, 200)
  const events = line.body.split('\n\n').filter(Boolean)
  t.equal(events[0], chunkEvent.trim(), 'what came before is relayed')
  const last = JSON.parse(events.at(-1)!.replace(/^data: /, ''))
  t.match(last.error, { code: 'upstream_response_too_large', message: /stream line exceeds .*65536 bytes \(UPSTREAM_MAX_EVENT_BYTES\)/ })

  // Many short data lines in one event add up too.
  up.answer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(chunkEvent)
    endless(res, Buffer.from(`data: ${'y'.repeat(1000)}\n`))
  })
  const event = await post(true)
  const lastEvent = JSON.parse(event.body.split('\n\n').filter(Boolean).at(-1)!.replace(/^data: /, ''))
  t.match(lastEvent.error, { code: 'upstream_response_too_large', message: /stream event exceeds/ })
  await stillServes()
})

test('SseParser: overflow semantics', async (t) => {
  const line = new SseParser({ maxEventSize: 100 })
  t.same(line.push('data: a\n\n'), [{ data: 'a' }])
  t.throws(() => line.push('data: ' + 'z'.repeat(200)), SseTooLargeError, 'a partial line over the cap')
  t.throws(() => line.push('\n\n'), SseTooLargeError, 'and it stays failed')

  // Events completed in the same chunk as the overflow are handed out first.
  const mixed = new SseParser({ maxEventSize: 100 })
  t.same(mixed.push('data: ok\n\ndata: ' + 'z'.repeat(200)), [{ data: 'ok' }])
  t.throws(() => mixed.end(), SseTooLargeError)

  const event = new SseParser({ maxEventSize: 100 })
  t.throws(() => event.push('data: 0123456789012345678901234567890123456789\n'.repeat(3)), { name: 'SseTooLargeError', what: 'event' }, 'short data lines add up')

  // Unbounded by default; CR LF split across chunks is still one line end.
  const plain = new SseParser()
  t.same(plain.push('data: ' + 'q'.repeat(1_000_000)), [])
  t.same(plain.push('\r'), [])
  t.same(plain.push('\n\r\n'), [{ data: 'q'.repeat(1_000_000) }])
  // A long line arriving in many small chunks.
  const small = new SseParser()
  let early = 0
  small.push('data: ')
  for (let i = 0; i < 2000; i++) early += small.push('x'.repeat(500)).length
  t.equal(early, 0)
  t.same(small.push('\n\n').map((e) => e.data.length), [1_000_000])
})
