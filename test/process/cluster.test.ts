// Two real gateway processes (dist/server.js) on one Postgres database and one
// Redis: a strategy switch, a key's RPM limit and a cooled-down deployment
// made on instance A hold on instance B. Needs a built dist/ (npx tsc -p
// tsconfig.json), TEST_DATABASE_URL, and TEST_REDIS_URL for the shared-state parts:
// TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test TEST_REDIS_URL=redis://127.0.0.1:6379 \
//   npx tap test/process/cluster.test.ts --disable-coverage
import { test } from 'tap'
import { setTimeout as delay } from 'node:timers/promises'
import { createSigner } from 'fast-jwt'
import { Agent, request } from 'undici'
import { startMockOpenAI } from '../mocks/openai.js'
import { MASTER_KEY, tempPostgresUrl, testEnv } from '../helpers/app.js'
import { redisPrefix } from '../helpers/limits.js'
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js'

const redisUrl = process.env.TEST_REDIS_URL
const NO_REDIS = 'TEST_REDIS_URL is not set: the Redis-backed parts (shared RPM, shared cooldown) are skipped'

/** Polls `fn` until it returns a value accepted by `done`, at most `limitMs`; returns the last value (asserted by the caller, not the time). */
async function pollFor<T>(fn: () => Promise<T>, done: (v: T) => boolean, limitMs = 5_000): Promise<T> {
  const deadline = Date.now() + limitMs
  let value = await fn()
  while (!done(value) && Date.now() < deadline) {
    await delay(50)
    value = await fn()
  }
  return value
}

const NO_POSTGRES = 'TEST_DATABASE_URL is not set: the two-process cluster test needs a shared Postgres'

test('two gateway processes on one Postgres and one Redis act as one', { skip: process.env.TEST_DATABASE_URL ? false : NO_POSTGRES }, async (t) => {
  const databaseUrl = tempPostgresUrl(t)!
  const redis = redisPrefix(t)
  const prefix = redis?.prefix ?? 'sytest-noredis:'

  const good = await startMockOpenAI()
  t.teardown(() => good.close())
  const bad = await startMockOpenAI()
  t.teardown(() => bad.close())
  bad.behaviour(() => ({ status: 500, body: { error: { message: 'always broken', type: 'server_error', code: null } } }))

  const gateway = {
    providers: [
      { name: 'good', type: 'openai', baseUrl: `${good.url}/v1`, apiKey: 'sk-good' },
      { name: 'bad', type: 'openai', baseUrl: `${bad.url}/v1`, apiKey: 'sk-bad' },
    ],
    models: [
      // Declared order puts the expensive one first; the cost strategy the cheap one.
      {
        name: 'pick',
        deployments: [
          { id: 'pick-pricey', provider: 'good', model: 'up-pricey', pricing: { input: 30, output: 60 } },
          { id: 'pick-cheap', provider: 'good', model: 'up-cheap', pricing: { input: 0.1, output: 0.2 } },
        ],
      },
      { name: 'm', deployments: [{ id: 'm-good', provider: 'good', model: 'up-m' }] },
      // Pinned to declared order, whatever the global strategy: the broken one first.
      {
        name: 'flaky',
        strategy: 'model',
        deployments: [
          { id: 'flaky-bad', provider: 'bad', model: 'up-bad' },
          { id: 'flaky-good', provider: 'good', model: 'up-flaky' },
        ],
      },
    ],
    routing: { strategy: 'model', retries: { attempts: 0 }, cooldown: { consecutiveFailures: 2, cooldownMs: 60_000 } },
    limits: { redisKeyPrefix: prefix },
  }
  const env = { REDIS_URL: redis?.url }
  // One after the other: B starts on the schema A migrated and seeded.
  const a = await startGatewayProcess(t, { gateway, databaseUrl, env })
  const b = await startGatewayProcess(t, { gateway, databaseUrl, env })

  const agent = new Agent({ keepAliveTimeout: 1_000 })
  t.teardown(() => agent.close())
  const admin = `Bearer ${createSigner({ key: testEnv('').JWT_SECRET!, algorithm: 'HS256', expiresIn: 600_000 })({ sub: 'ops', role: 'admin' })}`
  const call = async (gw: GatewayProcess, method: 'GET' | 'POST', path: string, body?: unknown, authorization = `Bearer ${MASTER_KEY}`) => {
    const res = await request(`${gw.url}${path}`, {
      method, dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000,
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.body.text()
    let json: Record<string, any> = {}
    try {
      json = JSON.parse(text)
    } catch {
      // Not JSON: the status says enough.
    }
    return { status: res.statusCode, headers: res.headers, json }
  }
  const chat = (gw: GatewayProcess, model: string, authorization?: string) =>
    call(gw, 'POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hello cluster' }] }, authorization)
  const health = async (gw: GatewayProcess, id: string) => {
    const res = await call(gw, 'GET', '/admin/health/deployments', undefined, admin)
    return (res.json.data as Array<{ id: string; state: string }> | undefined)?.find((d) => d.id === id)
  }

  await t.test('a strategy switched on A applies on B', async (t) => {
    const before = await chat(b, 'pick')
    t.equal(before.status, 200)
    t.equal(before.headers['x-switchyard-deployment'], 'pick-pricey', 'B starts with the declared order')

    const switched = await call(a, 'POST', '/admin/routing/strategy', { strategy: 'cost' }, admin)
    t.equal(switched.status, 200)
    t.equal(switched.json.strategy, 'cost')
    const onA = await chat(a, 'pick')
    t.equal(onA.headers['x-switchyard-deployment'], 'pick-cheap', 'A applies it to its next request')

    const onB = await pollFor(() => chat(b, 'pick'), (r) => r.headers['x-switchyard-deployment'] === 'pick-cheap')
    t.equal(onB.status, 200)
    t.equal(onB.headers['x-switchyard-deployment'], 'pick-cheap', 'B answers from the deployment the cost strategy picks')
    const state = await call(b, 'GET', '/admin/routing/strategy', undefined, admin)
    t.equal(state.json.strategy, 'cost', "B's admin API reports the new strategy")
  })

  await t.test('a key with rpmLimit 4 created on A is limited across both', { skip: redis ? false : NO_REDIS }, async (t) => {
    const created = await call(a, 'POST', '/admin/keys', { name: 'shared-rpm', rpmLimit: 4 }, admin)
    t.equal(created.status, 201)
    const key = `Bearer ${created.json.key as string}`
    t.equal((await chat(a, 'm', key)).status, 200, 'A: 1st')

    // B learns of the key through the change notification; until then it answers 401,
    // which uses no rate-limit slot. Its first 200 is B's first request in the budget.
    const firstOnB = await pollFor(() => chat(b, 'm', key), (r) => r.status !== 401)
    t.equal(firstOnB.status, 200, 'B: 1st (B knows the key made on A)')
    t.equal((await chat(a, 'm', key)).status, 200, 'A: 2nd')
    const fourth = await chat(b, 'm', key)
    t.equal(fourth.status, 200, 'B: 2nd, the 4th in all')
    t.equal(fourth.headers['x-ratelimit-remaining-requests'], '0', 'B counted the three requests before it')

    for (const [name, gw] of [['A', a], ['B', b]] as const) {
      const refused = await chat(gw, 'm', key)
      t.equal(refused.status, 429, `${name}: the 5th request is refused`)
      t.equal(refused.json.error?.code, 'rate_limit_exceeded')
      t.ok(Number(refused.headers['retry-after']) >= 1, 'with retry-after')
    }
    t.equal((await chat(b, 'm')).status, 200, 'the master key is not in that bucket')
  })

  await t.test('a deployment cooled down on A is skipped on B', { skip: redis ? false : NO_REDIS }, async (t) => {
    // With no retries and 2 faults in a row to open, A opens flaky-bad within a couple of requests.
    let opened: { state: string } | undefined
    for (let i = 0; i < 5 && opened?.state !== 'open'; i++) {
      const res = await chat(a, 'flaky')
      t.equal(res.status, 200, `A request ${i + 1} is served (by the healthy deployment)`)
      t.equal(res.headers['x-switchyard-deployment'], 'flaky-good')
      opened = await health(a, 'flaky-bad')
    }
    t.equal(opened?.state, 'open', "A's health report shows flaky-bad open")
    const badSeen = bad.requests.length
    t.ok(badSeen >= 2, `the broken upstream was tried (${badSeen} times) before the circuit opened`)

    const onB = await pollFor(() => health(b, 'flaky-bad'), (d) => d?.state === 'open')
    t.equal(onB?.state, 'open', "B's health report shows it open too")
    t.equal((await health(b, 'flaky-good'))?.state, 'closed')
    for (let i = 0; i < 3; i++) {
      const res = await chat(b, 'flaky')
      t.equal(res.status, 200)
      t.equal(res.headers['x-switchyard-deployment'], 'flaky-good', 'B routes to the healthy deployment')
      t.equal(res.headers['x-switchyard-attempts'], '1', 'without trying the cooled-down one first')
    }
    t.equal(bad.requests.length, badSeen, 'B never reached the broken upstream')
  })

  t.equal(await a.stop(), 0, 'A exits cleanly')
  t.equal(await b.stop(), 0, 'B exits cleanly')
})
