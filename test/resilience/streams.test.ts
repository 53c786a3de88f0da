// Streams: retried and re-routed freely until the first byte reaches the
// client, never after.
import { test } from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { sseData } from '../helpers/sse.js'
import { chat, duo, json, resilienceConfig, twoMocks } from '../helpers/resilience.js'

type Event = { error?: { message: string; code?: string }; choices?: Array<{ delta: { content?: string } }> }

const text = (events: unknown[]) => (events as Event[]).map((e) => (typeof e === 'object' ? e.choices?.[0]?.delta.content ?? '' : '')).join('')

test('a stream that fails before its first byte falls back transparently', async (t) => {
  const { a, b } = await twoMocks(t, { streamChunks: 3 })
  const app = await buildTestApp(t, {
    gateway: resilienceConfig(a, b, [duo('m', { retries: { attempts: 2 }, timeouts: { streamFirstByteMs: 200 } })]),
  })
  a.script(
    { status: 503, body: { error: { message: 'unavailable', type: 'server_error' } } },
    // A 200 whose very first event is an error: nothing was sent on yet.
    { raw: 'data: {"error":{"message":"overloaded","type":"server_error","code":"overloaded"}}\n\n', contentType: 'text/event-stream' },
    { hang: true },
  )
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m', { stream: true }) })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/event-stream/)
  t.equal(res.headers['x-switchyard-deployment'], 'm:b:up-b')
  t.equal(res.headers['x-switchyard-attempts'], '4', 'three failed attempts on a, then b')
  const events = sseData(res.body)
  t.equal(events[events.length - 1], '[DONE]')
  t.equal((events as Event[]).filter((e) => typeof e === 'object' && e.error).length, 0, 'no trace of the failures in the stream')
  t.equal(text(events), 'echo: t1 t2', 'one complete answer, from b')
  t.equal(a.requests.length, 3)
  t.equal(b.requests.length, 1)
})

test('a stream that fails after sending chunks ends with an SSE error event and is not replayed', async (t) => {
  const { a, b } = await twoMocks(t, { streamChunks: 6 })
  const app = await buildTestApp(t, { gateway: resilienceConfig(a, b, [duo('m')]) })
  a.script({ cutAfterChunks: 2 })
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m', { stream: true }) })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-switchyard-deployment'], 'm:a:up-a')
  t.equal(res.headers['x-switchyard-attempts'], '1')
  const events = sseData(res.body) as Event[]
  const last = events[events.length - 1]!
  t.type(last, 'object')
  t.ok(last.error, 'the last event is an error')
  t.notOk((events as unknown[]).includes('[DONE]'))
  t.ok(text(events).startsWith('echo:'), 'the chunks before the cut were delivered')
  t.equal(a.requests.length, 1, 'not retried')
  t.equal(b.requests.length, 0, 'not replayed elsewhere')
  t.match(app.cooldown.health('m:a:up-a'), { failures: 1, consecutiveFailures: 1 }, 'the failure is recorded against the deployment')
})
