// The admin API cannot read the host's secrets or reach internal addresses:
// key variables outside PROVIDER_KEY_VARS (and the gateway's own secrets
// always), baseUrls with a query, fragment or user info, and destinations
// that are not public (unless ADMIN_UPSTREAM_ALLOW) are refused with a 400;
// a stored secret never follows a provider to a new origin; a row that gets
// past all that anyway is unusable, and its connections are still guarded.
import { before, test } from 'tap'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { startMockOpenAI, type MockOpenAI } from '../mocks/openai.js'
import { auth, buildTestApp, testEnv } from '../helpers/app.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

interface Tap {
  teardown(fn: () => unknown): void
}

const NO_SHEDDING = { shedding: { maxEventLoopDelayMs: 0 } }
const SECRETS = testEnv('file:unused')

async function capture(t: Tap): Promise<MockOpenAI> {
  const mock = await startMockOpenAI()
  t.teardown(() => mock.close())
  return mock
}

/** Everything the capture server received, as one string. */
const seen = (mock: MockOpenAI) => JSON.stringify(mock.requests.map((r) => ({ url: r.url, headers: r.headers, raw: r.raw })))

async function setup(t: Tap, upstream: MockOpenAI, env: Record<string, string> = {}) {
  const app = await buildTestApp(t, {
    env,
    gateway: {
      limits: NO_SHEDDING,
      providers: [{ name: 'local', type: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: 'sk-yaml-local-key' }],
      models: [{ name: 'yaml-model', deployments: [{ provider: 'local', model: 'up' }] }],
      routing: { retries: { attempts: 0 } },
    },
  })
  return client(app)
}

function client(app: FastifyInstance) {
  const headers = { authorization: `Bearer ${app.jwt.sign({ sub: 'tester', role: 'admin' })}` }
  const admin = (method: InjectOptions['method'], url: string, payload?: unknown) =>
    app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) })
  const chat = (model: string) => app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: { model, messages: [{ role: 'user', content: 'hi' }] } })
  return { app, admin, chat }
}

test('apiKey may not name the gateway secrets or variables outside PROVIDER_KEY_VARS', async (t) => {
  const upstream = await capture(t)
  // Loopback allowed here, so only the key rule can refuse.
  const { admin, chat } = await setup(t, upstream, { ADMIN_UPSTREAM_ALLOW: '127.0.0.1' })
  for (const name of ['JWT_SECRET', 'MASTER_KEY', 'DATABASE_URL', 'REDIS_URL']) {
    const res = await admin('POST', '/admin/providers', { name: `steal-${name.toLowerCase().replace('_', '-')}`, type: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: `\${${name}}` })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().error.param, 'apiKey')
    t.match(res.json().error.message, new RegExp(`^apiKey: \\$\\{${name}\\} may not be used as a provider key: ${name} is one of the gateway's own secrets`))
  }
  const home = await admin('POST', '/admin/providers', { name: 'home', type: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: 'Bearer ${HOME}' })
  t.equal(home.statusCode, 400)
  t.match(home.json().error.message, /HOME is not allowed by PROVIDER_KEY_VARS \(\*_API_KEY\)/)

  // PATCH and import are held to the same rule.
  t.equal((await admin('POST', '/admin/providers', { name: 'ok', type: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: '${OK_API_KEY}' })).statusCode, 201)
  const patched = await admin('PATCH', '/admin/providers/ok', { apiKey: '${JWT_SECRET}' })
  t.equal(patched.statusCode, 400)
  t.equal(patched.json().error.param, 'apiKey')
  const imported = await admin('POST', '/admin/config/import', { providers: [{ name: 'imp', type: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: '${MASTER_KEY}' }] })
  t.equal(imported.statusCode, 400)
  t.equal(imported.json().error.param, 'providers[0].apiKey')
  t.match(imported.json().error.message, /MASTER_KEY is one of the gateway's own secrets/)

  t.equal(upstream.requests.length, 0, 'nothing was sent anywhere')
  t.equal((await chat('yaml-model')).statusCode, 200, 'a normal request still works')
  for (const value of [SECRETS.JWT_SECRET!, SECRETS.MASTER_KEY!]) t.notMatch(seen(upstream), value, 'no gateway secret reached the upstream')
})

test('baseUrl: no query, fragment, user info; admin providers reach public addresses only unless allowed', async (t) => {
  const upstream = await capture(t)
  const { admin, chat } = await setup(t, upstream)
  const port = new URL(upstream.url).port
  const refused: Array<[string, RegExp]> = [
    ['https://api.example.test/v1?', /baseUrl: must not contain a query/],
    ['https://api.example.test/v1#', /baseUrl: must not contain a fragment/],
    ['https://user:pw@api.example.test/v1', /baseUrl: must not contain user info/],
    ['http://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is a link-local address; providers written through the admin API may only reach public addresses/],
    [`http://127.0.0.1:${port}/v1`, /127\.0\.0\.1 is a loopback address.*ADMIN_UPSTREAM_ALLOW/],
    [`http://localhost:${port}/v1`, /localhost resolves to 127\.0\.0\.1, a loopback address/],
    ['http://10.0.0.8/v1', /10\.0\.0\.8 is a private \(RFC 1918\) address/],
    ['http://[fd00::1]/v1', /fd00::1 is a unique local \(fc00::\/7\) address/],
  ]
  for (const [baseUrl, message] of refused) {
    const res = await admin('POST', '/admin/providers', { name: 'p', type: 'openai', baseUrl, apiKey: 'sk-admin-key-123456' })
    t.equal(res.statusCode, 400, baseUrl)
    t.equal(res.json().error.param, 'baseUrl')
    t.match(res.json().error.message, message)
  }
  // A YAML provider on loopback turned admin-owned by a PATCH is checked too.
  const patch = await admin('PATCH', '/admin/providers/local', { timeouts: { totalMs: 5000 } })
  t.equal(patch.statusCode, 400, 'patching makes it admin-owned: its loopback destination is refused')
  t.equal(patch.json().error.param, 'baseUrl')
  const imp = await admin('POST', '/admin/config/import', { providers: [{ name: 'imp', type: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` }] })
  t.equal(imp.statusCode, 400)
  t.equal(imp.json().error.param, 'providers[0].baseUrl')
  t.equal((await admin('POST', '/admin/providers', { name: 'pub', type: 'openai', baseUrl: 'https://api.example.test/v1' })).statusCode, 201, 'a public name (unresolvable offline) is accepted')

  t.equal(upstream.requests.length, 0)
  const yaml = await chat('yaml-model')
  t.equal(yaml.statusCode, 200, 'the YAML provider on loopback works')
  t.equal(upstream.requests.length, 1)
})

test('ADMIN_UPSTREAM_ALLOW lets admin providers reach what it lists', async (t) => {
  const upstream = await capture(t)
  const { admin, chat } = await setup(t, upstream, { ADMIN_UPSTREAM_ALLOW: '127.0.0.1' })
  const created = await admin('POST', '/admin/providers', { name: 'lan', type: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: 'sk-admin-lan-key' })
  t.equal(created.statusCode, 201, created.body)
  t.equal((await admin('POST', '/admin/models', { name: 'lan-model', deployments: [{ provider: 'lan', model: 'up' }] })).statusCode, 201)
  const res = await chat('lan-model')
  t.equal(res.statusCode, 200, res.body)
  t.equal(upstream.requests.at(-1)!.headers.authorization, 'Bearer sk-admin-lan-key')
})

test('a stored key never follows a provider to another origin', async (t) => {
  const upstream = await capture(t)
  const { app, admin } = await setup(t, upstream)
  t.equal((await admin('POST', '/admin/providers', { name: 'oa', type: 'openai', apiKey: 'sk-stored-secret-1234', headers: { 'x-api-key': 'hdr-secret-5678' } })).statusCode, 201)

  const moved = await admin('PATCH', '/admin/providers/oa', { baseUrl: 'https://attacker.example.test/v1' })
  t.equal(moved.statusCode, 400)
  t.match(moved.json().error.message, /apiKey: the provider moves from https:\/\/api\.openai\.com to https:\/\/attacker\.example\.test/)
  t.match(moved.json().error.message, /headers\.x-api-key: /)
  const retyped = await admin('PATCH', '/admin/providers/oa', { type: 'anthropic', apiKey: '[set]', headers: null })
  t.equal(retyped.statusCode, 400, 'a type change moves the default origin too, and "[set]" does not count as sending the key')
  t.match(retyped.json().error.message, /moves from https:\/\/api\.openai\.com to https:\/\/api\.anthropic\.com/)

  const exported = (await admin('GET', '/admin/config/export')).body
  t.notMatch(exported, /sk-stored-secret-1234/)
  const viaImport = await admin('POST', '/admin/config/import', { providers: [{ name: 'oa', type: 'openai', baseUrl: 'https://attacker.example.test/v1', apiKey: '${REDACTED}' }] })
  t.equal(viaImport.statusCode, 400, 'an import cannot move it with a placeholder either')
  t.equal(viaImport.json().error.param, 'providers[0].apiKey')
  t.equal((await app.db.provider.findUniqueOrThrow({ where: { name: 'oa' } })).baseUrl, null, 'nothing changed')

  const resent = await admin('PATCH', '/admin/providers/oa', { baseUrl: 'https://attacker.example.test/v1', apiKey: 'sk-new-key-for-new-origin', headers: null })
  t.equal(resent.statusCode, 200, 'sending the key again is a deliberate act')
  const dropped = await admin('POST', '/admin/config/import', { providers: [{ name: 'oa', type: 'openai', baseUrl: 'https://other.example.test/v1' }] })
  t.equal(dropped.statusCode, 200, 'an import without the key moves it without one')
  t.equal((await app.db.provider.findUniqueOrThrow({ where: { name: 'oa' } })).apiKey, null)
})

test('rows that got past the admin API anyway: no secret resolved, no connection to loopback', async (t) => {
  const upstream = await capture(t)
  const { app, admin, chat } = await setup(t, upstream)
  const port = new URL(upstream.url).port
  // Written straight into the database, as a bug or an older version might have.
  await app.db.provider.create({ data: { id: 'sneaky', name: 'sneaky', type: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: '${JWT_SECRET}', options: '{}', source: 'yaml' } })
  await app.db.provider.create({ data: { id: 'rebound', name: 'rebound', type: 'openai', baseUrl: `http://localhost:${port}/v1`, apiKey: 'sk-rebound-key-123', options: '{}', source: 'admin' } })
  process.env.JWT_SECRET = SECRETS.JWT_SECRET
  t.teardown(() => delete process.env.JWT_SECRET)
  for (const [model, provider] of [['sneaky-model', 'sneaky'], ['rebound-model', 'rebound']]) {
    t.equal((await admin('POST', '/admin/models', { name: model, deployments: [{ provider, model: 'up' }] })).statusCode, 201)
  }

  const secret = await chat('sneaky-model')
  t.equal(secret.statusCode, 502)
  t.equal(secret.json().error.code, 'provider_not_configured')
  t.equal(secret.json().error.message, 'Provider "sneaky" is not usable: its API key is not configured', 'the variable is not named')

  const blocked = await chat('rebound-model')
  t.equal(blocked.statusCode, 502)
  t.equal(blocked.json().error.code, 'upstream_address_blocked')
  t.match(blocked.json().error.message, /a loopback address, which providers configured through the admin API may not connect to/)
  t.equal(blocked.headers['x-switchyard-attempts'], '1', 'not retried')

  t.equal(upstream.requests.length, 0, 'the capture server received nothing')
  t.equal((await chat('yaml-model')).statusCode, 200, 'a normal request still works')
  t.notMatch(seen(upstream), SECRETS.JWT_SECRET!)
})
