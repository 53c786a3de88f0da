// Adversarial, against the real server (dist/server.js, built with
// `npx tsc -p tsconfig.json`) over real HTTP: an admin cannot read the host's
// secrets or make the gateway reach internal addresses, and upstream messages
// reach clients scrubbed. Every case checks the answer, and that the gateway
// still serves a normal request afterwards.
import { test } from 'tap'
import { createSigner } from 'fast-jwt'
import { Agent, request } from 'undici'
import { startMockOpenAI, type MockOpenAI } from '../mocks/openai.js'
import { createDb } from '../../lib/storage/client.js'
import { MASTER_KEY, tempSqliteUrl, testEnv } from '../helpers/app.js'
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js'

const SECRETS = testEnv('file:unused')
const ADMIN = `Bearer ${createSigner({ key: SECRETS.JWT_SECRET!, algorithm: 'HS256', expiresIn: 600_000 })({ sub: 'mallory', role: 'admin' })}`
const ECHO_KEY = 'echo-provider-credential-Zx81'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  json: Record<string, any>
  text: string
}

function gatewayConfig(capture: MockOpenAI, echo: MockOpenAI) {
  return {
    limits: { shedding: { maxEventLoopDelayMs: 0 } },
    providers: [
      // Operator-owned (YAML): loopback is fine.
      { name: 'local', type: 'openai', baseUrl: `${capture.url}/v1`, apiKey: 'sk-yaml-local-key-0001' },
      { name: 'echo', type: 'openai', baseUrl: `${echo.url}/v1`, apiKey: ECHO_KEY },
      { name: 'unset', type: 'openai', baseUrl: `${capture.url}/v1`, apiKey: '${SWITCHYARD_TEST_UNSET_API_KEY}' },
    ],
    models: [
      { name: 'normal', deployments: [{ provider: 'local', model: 'up-normal' }] },
      { name: 'echo-model', deployments: [{ provider: 'echo', model: 'up-echo' }] },
      { name: 'unset-model', deployments: [{ provider: 'unset', model: 'up-unset' }] },
    ],
    routing: { retries: { attempts: 0 } },
  }
}

test('an admin cannot read the host secrets or reach internal addresses (real process)', async (t) => {
  const capture = await startMockOpenAI()
  t.teardown(() => capture.close())
  const echo = await startMockOpenAI()
  t.teardown(() => echo.close())
  // An upstream that echoes the credential it got in its error message.
  echo.behaviour((req) => ({
    status: 401,
    body: { error: { message: `Incorrect API key provided: ${String(req.headers.authorization).replace(/^Bearer /, '')}. Your header was ${req.headers.authorization}.`, type: 'invalid_request_error', code: 'invalid_api_key', param: null } },
  }))

  const agent = new Agent({ keepAliveTimeout: 1_000 })
  t.teardown(() => agent.close())
  const call = async (gw: GatewayProcess, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, authorization = `Bearer ${MASTER_KEY}`): Promise<Answer> => {
    const res = await request(`${gw.url}${path}`, {
      method, dispatcher: agent, headersTimeout: 20_000, bodyTimeout: 20_000,
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.body.text()
    let json: Record<string, any> = {}
    try {
      json = JSON.parse(text)
    } catch {
      // the status says enough
    }
    return { status: res.statusCode, headers: res.headers, json, text }
  }
  const chat = (gw: GatewayProcess, model: string) => call(gw, 'POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hello' }] })
  const admin = (gw: GatewayProcess, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown) => call(gw, method, path, body, ADMIN)
  const stillServes = async (gw: GatewayProcess, t: { equal(a: unknown, b: unknown, m?: string): unknown }) => {
    const res = await chat(gw, 'normal')
    t.equal(res.status, 200, 'the gateway still serves a normal request')
    t.equal(res.json.model, 'up-normal')
  }
  /** What the capture server ever received, as one string. */
  const captured = () => JSON.stringify(capture.requests.map((r) => ({ url: r.url, headers: r.headers, raw: r.raw })))

  // Gateway A: no allowance. Gateway B: ADMIN_UPSTREAM_ALLOW=127.0.0.1, so only the key rule guards it.
  const dbA = tempSqliteUrl(t)
  const a = await startGatewayProcess(t, { gateway: gatewayConfig(capture, echo), databaseUrl: dbA })
  const b = await startGatewayProcess(t, { gateway: gatewayConfig(capture, echo), databaseUrl: tempSqliteUrl(t), env: { ADMIN_UPSTREAM_ALLOW: '127.0.0.1' } })

  await t.test('apiKey naming a gateway secret: 400, and the capture server never sees it', async (t) => {
    for (const name of ['JWT_SECRET', 'MASTER_KEY', 'DATABASE_URL']) {
      const res = await admin(b, 'POST', '/admin/providers', { name: `steal-${name.toLowerCase().replace('_', '-')}`, type: 'openai', baseUrl: `${capture.url}/v1`, apiKey: `\${${name}}` })
      t.equal(res.status, 400, `\${${name}} refused`)
      t.equal(res.json.error?.param, 'apiKey')
      t.match(res.json.error?.message, new RegExp(`${name} is one of the gateway's own secrets`), 'the answer names the variable and the rule')
    }
    const res = await admin(b, 'POST', '/admin/providers', { name: 'steal-home', type: 'openai', baseUrl: `${capture.url}/v1`, apiKey: '${HOME}' })
    t.equal(res.status, 400)
    t.match(res.json.error?.message, /HOME is not allowed by PROVIDER_KEY_VARS \(\*_API_KEY\)/)
    await stillServes(b, t)
    for (const value of [SECRETS.JWT_SECRET!, SECRETS.MASTER_KEY!, dbA]) t.notMatch(captured(), value, 'no gateway secret reached the upstream')
  })

  await t.test('baseUrl with ?, #, user info, metadata or loopback: 400 through the admin API', async (t) => {
    const port = new URL(capture.url).port
    const before = capture.requests.length
    const cases: Array<[string, RegExp]> = [
      [`http://127.0.0.1:${port}/v1?`, /must not contain a query/],
      [`http://127.0.0.1:${port}/v1#`, /must not contain a fragment/],
      ['https://admin:hunter2@api.example.test/v1', /must not contain user info/],
      ['http://169.254.169.254/latest/meta-data/iam', /169\.254\.169\.254 is a link-local address/],
      [`http://127.0.0.1:${port}/v1`, /127\.0\.0\.1 is a loopback address/],
      [`http://localhost:${port}/v1`, /localhost resolves to 127\.0\.0\.1, a loopback address/],
    ]
    for (const [baseUrl, message] of cases) {
      const res = await admin(a, 'POST', '/admin/providers', { name: 'probe', type: 'openai', baseUrl, apiKey: 'sk-admin-probe-key' })
      t.equal(res.status, 400, baseUrl)
      t.equal(res.json.error?.param, 'baseUrl')
      t.match(res.json.error?.message, message)
    }
    t.equal(capture.requests.length, before, 'nothing was sent')
    await stillServes(a, t)
    t.equal(capture.requests.length, before + 1, 'the same loopback URL in the YAML file works')
  })

  await t.test('ADMIN_UPSTREAM_ALLOW=127.0.0.1 lets the admin provider reach it', async (t) => {
    const created = await admin(b, 'POST', '/admin/providers', { name: 'lan', type: 'openai', baseUrl: `${capture.url}/v1`, apiKey: 'sk-admin-lan-key-0002' })
    t.equal(created.status, 201, created.text)
    t.equal((await admin(b, 'POST', '/admin/models', { name: 'lan-model', deployments: [{ provider: 'lan', model: 'up-lan' }] })).status, 201)
    const res = await chat(b, 'lan-model')
    t.equal(res.status, 200, res.text)
    t.equal(capture.requests.at(-1)!.headers.authorization, 'Bearer sk-admin-lan-key-0002')
    await stillServes(b, t)
  })

  await t.test('rows that bypass the admin API: no secret resolved, loopback refused on connect', async (t) => {
    const before = capture.requests.length
    const { db } = await createDb(dbA)
    t.teardown(() => db.$disconnect())
    const port = new URL(capture.url).port
    await db.provider.create({ data: { id: 'sneaky', name: 'sneaky', type: 'openai', baseUrl: `${capture.url}/v1`, apiKey: '${JWT_SECRET}', options: '{}', source: 'yaml' } })
    // A name that resolves to loopback when connecting (as after DNS rebinding).
    await db.provider.create({ data: { id: 'rebound', name: 'rebound', type: 'openai', baseUrl: `http://localhost:${port}/v1`, apiKey: 'sk-admin-rebound-0003', options: '{}', source: 'admin' } })
    // Admin writes reload the routing table.
    for (const [model, provider] of [['sneaky-model', 'sneaky'], ['rebound-model', 'rebound']]) {
      t.equal((await admin(a, 'POST', '/admin/models', { name: model, deployments: [{ provider, model: 'up' }] })).status, 201)
    }
    const secret = await chat(a, 'sneaky-model')
    t.equal(secret.status, 502)
    t.equal(secret.json.error?.code, 'provider_not_configured')
    t.notMatch(secret.text, /JWT_SECRET/, 'the variable is not named to the client')

    const rebound = await chat(a, 'rebound-model')
    t.equal(rebound.status, 502)
    t.equal(rebound.json.error?.code, 'upstream_address_blocked')
    t.match(rebound.json.error?.message, /loopback address/)
    t.equal(rebound.headers['x-switchyard-attempts'], '1', 'no retries against a refused address')
    t.equal(capture.requests.length, before, 'the capture server received nothing')
    t.notMatch(captured(), SECRETS.JWT_SECRET!)
    await stillServes(a, t)
  })

  await t.test('upstream messages are scrubbed; an unset key is not named', async (t) => {
    const res = await chat(a, 'echo-model')
    t.equal(res.status, 401)
    t.equal(echo.requests.at(-1)!.headers.authorization, `Bearer ${ECHO_KEY}`, 'the upstream did get (and echo) the key')
    t.notMatch(res.text, ECHO_KEY, 'the client never sees it')
    t.match(res.json.error?.message, /^Incorrect API key provided: \[redacted\]\. Your header was Bearer \[redacted\]\.$/)

    const unset = await chat(a, 'unset-model')
    t.equal(unset.status, 502)
    t.equal(unset.json.error?.message, 'Provider "unset" is not usable: its API key is not configured')
    t.notMatch(unset.text, /SWITCHYARD_TEST_UNSET_API_KEY/)
    await stillServes(a, t)
  })

  t.equal(await a.stop(), 0, 'A exits cleanly')
  t.equal(await b.stop(), 0, 'B exits cleanly')
})
