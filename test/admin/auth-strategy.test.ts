import { before, test } from 'tap'
import { createSigner } from 'fast-jwt'
import { startMockOpenAI } from '../mocks/openai.js'
import { auth, buildTestApp, tempPostgresUrl, tempSqliteUrl, testEnv } from '../helpers/app.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const SECRET = testEnv('file:x').JWT_SECRET!

/** Two mock deployments of one model, plus one single-deployment model. */
function twoDeployments(url: string) {
  return {
    providers: [
      { name: 'cheap', type: 'openai', baseUrl: `${url}/v1`, apiKey: 'k' },
      { name: 'fast', type: 'openai', baseUrl: `${url}/v1`, apiKey: 'k' },
    ],
    models: [
      {
        name: 'duo',
        deployments: [
          { provider: 'fast', model: 'fast-model', pricing: { input: 10, output: 30 } },
          { provider: 'cheap', model: 'cheap-model', pricing: { input: 0.1, output: 0.2 } },
        ],
      },
    ],
    routing: { strategy: 'model' },
  }
}

const chat = { model: 'duo', messages: [{ role: 'user', content: 'route me' }] }

test('admin JWT: missing, expired, wrong secret, alg none, viewer write', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: twoDeployments(up.url) })
  const get = (headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: '/admin/routing/strategy', headers })
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

  t.equal((await get()).statusCode, 401)
  const expired = createSigner({ key: SECRET, algorithm: 'HS256' })({ sub: 'x', role: 'admin', exp: Math.floor(Date.now() / 1000) - 60 })
  const expiredRes = await get(bearer(expired))
  t.equal(expiredRes.statusCode, 401)
  t.match(expiredRes.json().error.message, /expired/)
  const wrongSecret = createSigner({ key: 'another-secret-another-secret-0123456789', algorithm: 'HS256' })({ sub: 'x', role: 'admin' })
  t.equal((await get(bearer(wrongSecret))).statusCode, 401)
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')
  const payload = Buffer.from(JSON.stringify({ sub: 'x', role: 'admin' })).toString('base64url')
  t.equal((await get(bearer(`${header}.${payload}.`))).statusCode, 401, 'alg none is refused')
  const hs512 = createSigner({ key: SECRET, algorithm: 'HS512' })({ sub: 'x', role: 'admin' })
  t.equal((await get(bearer(hs512))).statusCode, 401, 'only HS256 is accepted')
  const noRole = app.jwt.sign({ sub: 'x' } as never)
  t.equal((await get(bearer(noRole))).statusCode, 401)

  const viewer = app.jwt.sign({ sub: 'v', role: 'viewer' })
  t.equal((await get(bearer(viewer))).statusCode, 200, 'viewer reads')
  const write = await app.inject({ method: 'POST', url: '/admin/routing/strategy', headers: bearer(viewer), payload: { strategy: 'cost' } })
  t.equal(write.statusCode, 403)
  t.equal(write.json().error.code, 'insufficient_role')
  t.equal(app.modelRouting.table.strategy, 'model', 'nothing changed')

  const gatewayKeyOnAdmin = await get(auth)
  t.equal(gatewayKeyOnAdmin.statusCode, 401, 'a gateway key is not an admin token')
})

test('a strategy switch applies to the very next request, is audited, and validated', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: twoDeployments(up.url) })
  const admin = { authorization: `Bearer ${app.jwt.sign({ sub: 'alice', role: 'admin' })}` }
  const send = () => app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: chat })

  t.equal((await send()).headers['x-switchyard-provider'], 'fast', 'model order: first declared')
  const res = await app.inject({ method: 'POST', url: '/admin/routing/strategy', headers: admin, payload: { strategy: 'cost' } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().strategy, 'cost')
  t.equal((await send()).headers['x-switchyard-provider'], 'cheap', 'cost: cheapest first, on the next request')

  const bad = await app.inject({ method: 'POST', url: '/admin/routing/strategy', headers: admin, payload: { strategy: 'fastest' } })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().error.param, 'strategy')

  // Per-model override beats the global strategy.
  await app.inject({ method: 'POST', url: '/admin/routing/strategy', headers: admin, payload: { model: 'duo', strategy: 'model' } })
  t.equal((await send()).headers['x-switchyard-provider'], 'fast')
  const state = (await app.inject({ method: 'GET', url: '/admin/routing/strategy', headers: admin })).json()
  t.same(state.models, [{ model: 'duo', strategy: 'model' }])
  t.equal(state.strategy, 'cost')

  const audit = (await app.inject({ method: 'GET', url: '/admin/audit?action=routing.', headers: admin })).json().data
  t.equal(audit.length, 2)
  t.match(audit[1], { actor: 'alice', action: 'routing.strategy', before: 'model', after: 'cost' })
  t.match(audit[0], { actor: 'alice', action: 'routing.strategy.model', target: 'duo', before: null, after: 'model' })
})

test('per-request strategy header needs a key that may use it', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: twoDeployments(up.url) })
  const admin = { authorization: `Bearer ${app.jwt.sign({ sub: 'alice', role: 'admin' })}` }
  const master = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...auth, 'x-switchyard-strategy': 'cost' }, payload: chat })
  t.equal(master.headers['x-switchyard-provider'], 'cheap', 'the master key may override')

  const created = (await app.inject({ method: 'POST', url: '/admin/keys', headers: admin, payload: { name: 'app' } })).json()
  const plain = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${created.key}`, 'x-switchyard-strategy': 'cost' }, payload: chat })
  t.equal(plain.statusCode, 403)
  t.equal(plain.json().error.code, 'strategy_override_forbidden')
  const unknown = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...auth, 'x-switchyard-strategy': 'fastest' }, payload: chat })
  t.equal(unknown.statusCode, 400)
})

test('gateway keys: shown once, stored hashed, revocable, model allow-list', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: twoDeployments(up.url) })
  const admin = { authorization: `Bearer ${app.jwt.sign({ sub: 'alice', role: 'admin' })}` }
  const res = await app.inject({ method: 'POST', url: '/admin/keys', headers: admin, payload: { name: 'team-a', tenant: 'acme', allowedModels: ['du*'] } })
  t.equal(res.statusCode, 201)
  const created = res.json()
  t.match(created.key, /^sk-sy-/)
  const row = await app.db.apiKey.findUniqueOrThrow({ where: { id: created.id } })
  t.not(row.hash, created.key)
  t.equal(JSON.stringify(row).includes(created.key), false, 'the key itself is stored nowhere')
  const listed = (await app.inject({ method: 'GET', url: '/admin/keys', headers: admin })).json().data
  t.equal(JSON.stringify(listed).includes(created.key), false, 'and never listed again')

  const ok = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${created.key}` }, payload: chat })
  t.equal(ok.statusCode, 200)
  const badField = await app.inject({ method: 'POST', url: '/admin/keys', headers: admin, payload: { name: 'x', rpmLimit: -5 } })
  t.equal(badField.statusCode, 400)
  t.equal(badField.json().error.param, 'rpmLimit')

  await app.inject({ method: 'PATCH', url: `/admin/keys/${created.id}`, headers: admin, payload: { allowedModels: ['other-*'] } })
  const denied = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${created.key}` }, payload: chat })
  t.equal(denied.statusCode, 403)
  t.equal(denied.json().error.code, 'model_not_allowed')

  await app.inject({ method: 'DELETE', url: `/admin/keys/${created.id}`, headers: admin })
  const revoked = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${created.key}` }, payload: chat })
  t.equal(revoked.statusCode, 401)
})

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`strategy and keys survive a restart (${kind})`, async (t) => {
    const url = kind === 'sqlite' ? tempSqliteUrl(t) : tempPostgresUrl(t)
    if (!url) {
      t.skip('TEST_DATABASE_URL is not set: Postgres restart test skipped')
      return
    }
    const up = await startMockOpenAI()
    t.teardown(() => up.close())
    const first = await buildTestApp(t, { gateway: twoDeployments(up.url), databaseUrl: url })
    const admin = { authorization: `Bearer ${first.jwt.sign({ sub: 'alice', role: 'admin' })}` }
    await first.inject({ method: 'POST', url: '/admin/routing/strategy', headers: admin, payload: { strategy: 'cost' } })
    const key = (await first.inject({ method: 'POST', url: '/admin/keys', headers: admin, payload: { name: 'persist' } })).json().key
    await first.close()

    // Same YAML (which still says strategy: model): the admin change wins.
    const second = await buildTestApp(t, { gateway: twoDeployments(up.url), databaseUrl: url })
    t.equal(second.modelRouting.table.strategy, 'cost')
    const res = await second.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${key}` }, payload: chat })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-switchyard-provider'], 'cheap')
  })
}

test('routing dry run explains the order without calling the upstream', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const app = await buildTestApp(t, { gateway: { ...twoDeployments(up.url), routing: { strategy: 'cost' } } })
  const admin = { authorization: `Bearer ${app.jwt.sign({ sub: 'alice', role: 'viewer' })}` }
  const res = await app.inject({ method: 'POST', url: '/admin/routing/test', headers: admin, payload: { request: { ...chat, max_tokens: 100 } } })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.strategy, 'cost')
  t.same(body.candidates.map((c: { deploymentId: string }) => c.deploymentId), ['duo:cheap:cheap-model', 'duo:fast:fast-model'])
  const cheap = body.candidates[0]
  const promptTokens = (await app.inject({ method: 'POST', url: '/v1/routing/estimate-cost', headers: auth, payload: { ...chat, max_tokens: 100 } })).json().chosen.promptTokens
  t.equal(cheap.estimatedCostUsd, Number(((promptTokens * 0.1 + 100 * 0.2) / 1e6).toFixed(10)))
  t.match(body.why, /^cost \(global\) ranked duo:cheap:cheap-model first/)
  t.equal(up.requests.length, 0, 'no upstream call')
})

test('querystrings are coerced, bodies are not', async (t) => {
  const app = await buildTestApp(t, { gateway: { providers: [{ name: 'm', type: 'mock' }], models: [{ name: 'm', deployments: [{ provider: 'm' }] }] } })
  const admin = { authorization: `Bearer ${app.jwt.sign({ sub: 'alice', role: 'admin' })}` }
  for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/admin/keys', headers: admin, payload: { name: `k${i}` } })
  const audit = await app.inject({ method: 'GET', url: '/admin/audit?limit=2', headers: admin })
  t.equal(audit.statusCode, 200)
  t.equal(audit.json().data.length, 2)
  const body = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: '5' } })
  t.equal(body.statusCode, 400, 'a string max_tokens is refused, not coerced')
  t.equal(body.json().error.param, 'max_tokens')
})
