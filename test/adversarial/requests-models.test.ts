// Adversarial, against the real server (dist/server.js, built with
// `npx tsc -p tsconfig.json`) over real HTTP: client-chosen model names cannot
// grow memory or the database (one statistics bucket per routing pattern), a
// huge or malformed name is refused, and estimate-cost checks the key's
// models like chat. Each case checks the answer and that a normal request
// still works afterwards.
import { test } from 'tap'
import { createSigner } from 'fast-jwt'
import { Agent, request } from 'undici'
import { MASTER_KEY, tempSqliteUrl, testEnv } from '../helpers/app.js'
import { startGatewayProcess } from '../helpers/process.js'
import { createDb } from '../../lib/storage/client.js'

const JWT_SECRET = testEnv('file:unused').JWT_SECRET!
const adminToken = () => createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 600_000 })({ sub: 'adversary-tests', role: 'admin' })
const NAMES = 5_000

const GATEWAY = {
  limits: { shedding: { maxEventLoopDelayMs: 0 } },
  providers: [{ name: 'mock', type: 'mock' }],
  models: [
    { name: 'm', deployments: [{ id: 'm-dep', provider: 'mock' }] },
    { name: 'private', deployments: [{ id: 'private-dep', provider: 'mock' }] },
  ],
  routing: { patterns: [{ match: 'llama-*', provider: 'mock' }, { match: 'mistral-*', provider: 'mock' }] },
}

test('client-chosen model names, bad names and model permissions (real process)', async (t) => {
  const databaseUrl = tempSqliteUrl(t)
  const gw = await startGatewayProcess(t, { gateway: GATEWAY, databaseUrl })
  const agent = new Agent({ connections: 16, keepAliveTimeout: 1_000 })
  t.teardown(() => agent.close())
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown, authorization = `Bearer ${MASTER_KEY}`) => {
    const res = await request(`${gw.url}${path}`, {
      method, dispatcher: agent, headersTimeout: 30_000, bodyTimeout: 30_000,
      headers: { authorization, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.body.text()
    return { status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : undefined }
  }
  const chat = (model: string, authorization?: string) => call('POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }, authorization)
  const normal = async (what: string) => t.equal((await chat('m')).status, 200, `${what}: a normal request is served afterwards`)

  await t.test(`${NAMES} distinct names under two patterns: two deployments tracked, two rows stored`, async (t) => {
    let ok = 0
    const deployments = new Set<string>()
    // 16 at a time.
    for (let i = 0; i < NAMES; i += 16) {
      const batch = await Promise.all(Array.from({ length: Math.min(16, NAMES - i) }, (_, j) => chat(`${(i + j) % 2 ? 'llama' : 'mistral'}-${i + j}-${Math.random().toString(36).slice(2)}`)))
      for (const r of batch) {
        if (r.status === 200) ok++
        deployments.add(String(r.headers['x-switchyard-deployment']))
      }
    }
    t.equal(ok, NAMES, 'every name was served')
    t.same([...deployments].sort(), ['pattern:mock:llama-*', 'pattern:mock:mistral-*'], 'one deployment per pattern, whatever the name')
    const latency = await call('GET', '/v1/routing/latency?window=1h')
    const tracked = (latency.json.data as Array<{ deploymentId: string; count: number }>).filter((d) => d.deploymentId.startsWith('pattern:'))
    t.same(tracked.map((d) => d.deploymentId).sort(), ['pattern:mock:llama-*', 'pattern:mock:mistral-*'], 'tracked deployments: the pattern count')
    t.ok(tracked.every((d) => d.count > 0), 'and they hold the samples (as many as a window keeps)')
    await normal('5,000 names')

    // Stop the process (it flushes statistics on the way out) and count what it stored.
    t.equal(await gw.stop('SIGTERM'), 0, 'clean shutdown')
    const { db } = await createDb(databaseUrl)
    try {
      const rows = await db.latencyAggregate.findMany({ select: { deploymentId: true } })
      t.same(rows.map((r) => r.deploymentId).filter((id) => id.startsWith('pattern:')).sort(), ['pattern:mock:llama-*', 'pattern:mock:mistral-*'], 'stored aggregate rows: the pattern count')
      t.ok(rows.length <= 3, `${rows.length} aggregate rows in all`)
    } finally {
      await db.$disconnect()
    }
  })
})

test('a 100 KB model name, bad characters, and estimate-cost for a model the key may not use (real process)', async (t) => {
  const gw = await startGatewayProcess(t, { gateway: GATEWAY, databaseUrl: tempSqliteUrl(t) })
  const agent = new Agent({ keepAliveTimeout: 1_000 })
  t.teardown(() => agent.close())
  const call = async (path: string, body: unknown, authorization = `Bearer ${MASTER_KEY}`) => {
    const res = await request(`${gw.url}${path}`, {
      method: 'POST', dispatcher: agent, headersTimeout: 30_000, bodyTimeout: 30_000,
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const text = await res.body.text()
    return { status: res.statusCode, text, json: JSON.parse(text) }
  }
  const chatBody = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] })
  const normal = async (what: string) => t.equal((await call('/v1/chat/completions', chatBody('m'))).status, 200, `${what}: a normal request is served afterwards`)

  for (const [what, model] of [['100 KB', `llama-${'x'.repeat(100 * 1024)}`], ['a space', 'llama 3'], ['non-ASCII', 'llama-модель'], ['a control character', 'llama-\u0007']] as const) {
    for (const path of ['/v1/chat/completions', '/v1/embeddings', '/v1/routing/estimate-cost']) {
      const body = path === '/v1/embeddings' ? { model, input: 'hi' } : chatBody(model)
      const res = await call(path, body)
      t.equal(res.status, 400, `${what} on ${path}`)
      t.equal(res.json.error.param, 'model')
      t.ok(res.text.length < 2000, 'the name is not echoed back')
    }
    await normal(what)
  }

  const created = await call('/admin/keys', { name: 'tenant', allowedModels: ['m'] }, `Bearer ${adminToken()}`)
  t.equal(created.status, 201)
  const key = `Bearer ${created.json.key}`
  const viaChat = await call('/v1/chat/completions', chatBody('private'), key)
  const viaEstimate = await call('/v1/routing/estimate-cost', chatBody('private'), key)
  t.equal(viaChat.status, 403)
  t.equal(viaEstimate.status, 403, 'estimate-cost refuses like chat')
  t.same(viaEstimate.json, viaChat.json)
  t.equal((await call('/v1/routing/estimate-cost', chatBody('m'), key)).status, 200, 'a model the key may use is estimated')
  await normal('permissions')
})
