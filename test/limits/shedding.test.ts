import { before, test } from 'tap'
import { auth, buildTestApp } from '../helpers/app.js'
import { chat, mockGateway } from '../helpers/limits.js'
import { SustainedPressure } from '../../lib/limits/shedding.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

test('under pressure: /v1 gets 503 in OpenAI shape with retry-after; health endpoints still answer', async (t) => {
  // A heap limit of 1 byte: under pressure from the first sample on.
  const app = await buildTestApp(t, { gateway: mockGateway({ limits: { shedding: { maxHeapUsedBytes: 1, sampleIntervalMs: 10, retryAfterSec: 7 } } }) })
  let shed
  for (let i = 0; i < 300 && !shed; i++) {
    const res = await chat(app, auth)
    if (res.statusCode === 503) shed = res
    else await new Promise((r) => setTimeout(r, 10))
  }
  t.ok(shed, 'a request was shed once the first sample was taken')
  t.equal(shed!.headers['retry-after'], '7')
  t.same(shed!.json(), { error: { message: 'The gateway is overloaded; retry later.', type: 'server_error', param: null, code: 'overloaded' } })

  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200, 'liveness is never shed')
  t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200, 'nor readiness')
  const admin = await app.inject({ method: 'GET', url: '/admin/usage' })
  t.equal(admin.statusCode, 503, 'other routes are shed too')
  t.equal(admin.json().error.code, 'overloaded')
})

test('event-loop lag: a loop that keeps stalling sheds; once it turns freely again requests pass', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway({ limits: { shedding: { maxEventLoopDelayMs: 20, sampleIntervalMs: 50 } } }) })
  const block = (ms: number) => {
    const end = performance.now() + ms
    while (performance.now() < end) {
      // a stalled event loop
    }
  }
  let shed
  for (let i = 0; i < 40 && !shed; i++) {
    block(120)
    await new Promise((r) => setImmediate(r))
    const res = await app.inject({ method: 'GET', url: '/v1/models', headers: auth })
    if (res.statusCode === 503) shed = res
  }
  t.ok(shed, 'shed while every turn of the loop took 120 ms')
  t.equal(shed?.json().error.code, 'overloaded')
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'health is exempt')

  let recovered = false
  for (let i = 0; i < 200 && !recovered; i++) {
    await new Promise((r) => setTimeout(r, 20))
    recovered = (await app.inject({ method: 'GET', url: '/v1/models', headers: auth })).statusCode === 200
  }
  t.ok(recovered, 'requests pass again once the loop is free')
})

test('default settings: an idle gateway does not shed', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway() })
  t.equal((await chat(app, auth)).statusCode, 200)
  t.equal(app.isUnderPressure(), false)
})

test('sustained pressure: one slow sample does not shed, consecutive ones do, one fast one ends it', async (t) => {
  const p = new SustainedPressure(1000, 2)
  t.equal(p.observe(5000), false, 'a single long pause')
  t.equal(p.observe(10), false)
  t.equal(p.observe(1500), false)
  t.equal(p.observe(1500), true, 'two intervals in a row')
  t.equal(p.observe(1200), true)
  t.equal(p.observe(999), false, 'recovered')
  t.equal(p.observe(1000), false, 'the limit itself is not over it')
  const three = new SustainedPressure(100)
  t.same([200, 200, 200].map((v) => three.observe(v)), [false, false, true], 'by default three intervals in a row')
  const off = new SustainedPressure(0)
  t.same([1e9, 1e9, 1e9].map((v) => off.observe(v)), [false, false, false], '0 disables')
})
