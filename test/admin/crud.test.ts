// Admin CRUD for providers, models, deployments, prices and rules: validation
// naming the field, roles, audit, and — above all — that each change is in
// force for the very next /v1 request and survives a restart on the same
// database even though the YAML seed says otherwise.
import { before, test } from 'tap'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { auth, buildTestApp, tempSqliteUrl } from '../helpers/app.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

interface Tap {
  teardown(fn: () => unknown): void
}

// Load shedding would refuse requests right after a slow start on a busy
// machine; these tests are about configuration, so it is off.
const NO_SHEDDING = { shedding: { maxEventLoopDelayMs: 0 } }

/** The YAML seed: two in-process mock providers, one model on both. */
function seed(extra: Record<string, unknown> = {}) {
  return {
    limits: NO_SHEDDING,
    providers: [
      { name: 'mock', type: 'mock' },
      { name: 'mock2', type: 'mock' },
    ],
    models: [
      {
        name: 'base',
        aliases: ['base-alias'],
        deployments: [
          { provider: 'mock', model: 'base-up' },
          { provider: 'mock2', model: 'base-up2' },
        ],
      },
    ],
    routing: { strategy: 'model' },
    ...extra,
  }
}

const FIRST = 'base:mock:base-up'
const SECOND = 'base:mock2:base-up2'

async function setup(t: Tap, opts: { gateway?: unknown; databaseUrl?: string } = {}) {
  const app = await buildTestApp(t, { gateway: opts.gateway ?? seed(), databaseUrl: opts.databaseUrl })
  return client(app)
}

function client(app: FastifyInstance) {
  const admin = { authorization: `Bearer ${app.jwt.sign({ sub: 'tester', role: 'admin' })}` }
  const viewer = { authorization: `Bearer ${app.jwt.sign({ sub: 'watcher', role: 'viewer' })}` }
  const as = (headers: Record<string, string>) => (method: InjectOptions['method'], url: string, payload?: unknown) =>
    app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) })
  const chat = (model: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...auth, ...headers }, payload: { model, messages: [{ role: 'user', content: 'hello there' }] } })
  const audit = async (action: string) => (await as(admin)('GET', `/admin/audit?action=${encodeURIComponent(action)}`)).json().data as Array<Record<string, unknown>>
  return { app, admin: as(admin), viewer: as(viewer), chat, audit }
}

test('providers: CRUD, keys never returned, validation, roles, audit', async (t) => {
  const { app, admin, viewer, audit } = await setup(t)

  const list = await viewer('GET', '/admin/providers')
  t.equal(list.statusCode, 200, 'viewer reads')
  t.same(list.json().data.map((p: { name: string }) => p.name), ['mock', 'mock2'])
  t.match(list.json().data[0], { name: 'mock', type: 'mock', apiKeySet: false, apiKeyRef: null, deployments: 1, source: 'yaml' })

  const body = { name: 'oa', type: 'openai', baseUrl: 'https://api.example.test/v1', apiKey: 'sk-literal-secret-123', headers: { 'x-team': 'a', 'x-api-key': 'hdr-secret-456' } }
  t.equal((await viewer('POST', '/admin/providers', body)).statusCode, 403, 'viewer cannot write')
  t.notOk(await app.db.provider.findUnique({ where: { name: 'oa' } }))

  const created = await admin('POST', '/admin/providers', body)
  t.equal(created.statusCode, 201)
  t.match(created.json(), { name: 'oa', type: 'openai', apiKeySet: true, apiKeyRef: null, source: 'admin', headers: { 'x-team': 'a', 'x-api-key': '[set]' } })
  t.notMatch(created.body, /sk-literal-secret-123|hdr-secret-456/)
  const one = await viewer('GET', '/admin/providers/oa')
  t.equal(one.statusCode, 200)
  t.notMatch(one.body, /sk-literal-secret-123|hdr-secret-456/, 'GET never returns a secret')
  t.notMatch((await viewer('GET', '/admin/providers')).body, /sk-literal-secret-123/)
  t.ok(app.modelRouting.table.providers.has('oa'), 'routing reloaded')

  const ref = await admin('POST', '/admin/providers', { name: 'ref', type: 'openai', apiKey: '${SOME_PROVIDER_API_KEY}' })
  t.equal(ref.statusCode, 201)
  t.match(ref.json(), { apiKeySet: true, apiKeyRef: '${SOME_PROVIDER_API_KEY}' }, 'a ${VAR} reference is shown')

  const badType = await admin('POST', '/admin/providers', { name: 'bad', type: 'openia' })
  t.equal(badType.statusCode, 400)
  t.equal(badType.json().error.param, 'type')
  t.match(badType.json().error.message, /^type: .*expected one of "openai", "azure"/)
  const badName = await admin('POST', '/admin/providers', { name: 'has space', type: 'mock' })
  t.equal(badName.json().error.param, 'name')
  const dup = await admin('POST', '/admin/providers', { name: 'mock', type: 'mock' })
  t.equal(dup.statusCode, 409)
  t.equal(dup.json().error.param, 'name')
  const azure = await admin('POST', '/admin/providers', { name: 'az', type: 'azure' })
  t.equal(azure.statusCode, 400)
  t.match(azure.json().error, { param: 'baseUrl', message: /baseUrl: required for azure/ })
  const envRef = await admin('POST', '/admin/providers', { name: 'leak', type: 'mock', headers: { 'x-leak': '${JWT_SECRET}' } })
  t.equal(envRef.statusCode, 400, 'no env interpolation outside apiKey')
  t.equal(envRef.json().error.param, 'headers.x-leak')

  const sameOrigin = await admin('PATCH', '/admin/providers/oa', { baseUrl: 'https://api.example.test/v2', headers: { 'x-team': 'b', 'x-api-key': '[set]' } })
  t.equal(sameOrigin.statusCode, 200, sameOrigin.body)
  let stored = await app.db.provider.findUniqueOrThrow({ where: { name: 'oa' } })
  t.equal(stored.apiKey, 'sk-literal-secret-123', 'the key is kept when not sent (same origin)')
  t.same(JSON.parse(stored.options).headers, { 'x-team': 'b', 'x-api-key': 'hdr-secret-456' }, '"[set]" keeps the stored header value')
  // Another origin: the stored secrets may not follow it.
  const moved = await admin('PATCH', '/admin/providers/oa', { baseUrl: 'https://other.example.test/v1', headers: { 'x-team': 'b', 'x-api-key': '[set]' } })
  t.equal(moved.statusCode, 400, 'a new origin needs the key again')
  t.equal(moved.json().error.param, 'apiKey')
  t.match(moved.json().error.message, /apiKey: the provider moves from https:\/\/api\.example\.test to https:\/\/other\.example\.test.*send the API key again/)
  t.match(moved.json().error.message, /headers\.x-api-key: .*send this header again/)
  const patched = await admin('PATCH', '/admin/providers/oa', { baseUrl: 'https://other.example.test/v1', apiKey: 'sk-literal-secret-123', headers: { 'x-team': 'b', 'x-api-key': 'hdr-secret-456' } })
  t.equal(patched.statusCode, 200, patched.body)
  t.equal(patched.json().baseUrl, 'https://other.example.test/v1')
  stored = await app.db.provider.findUniqueOrThrow({ where: { name: 'oa' } })
  t.equal(stored.apiKey, 'sk-literal-secret-123', 'the key sent again is stored')
  t.equal(app.modelRouting.table.providers.get('oa')!.settings.baseUrl, 'https://other.example.test/v1')
  const rename = await admin('PATCH', '/admin/providers/oa', { name: 'renamed' })
  t.equal(rename.statusCode, 400)
  t.equal(rename.json().error.param, 'name')
  const badUrl = await admin('PATCH', '/admin/providers/oa', { baseUrl: 'ftp://x' })
  t.equal(badUrl.json().error.param, 'baseUrl')
  t.equal((await admin('PATCH', '/admin/providers/nope', { apiVersion: 'x' })).statusCode, 404)
  const cleared = await admin('PATCH', '/admin/providers/oa', { apiKey: null })
  t.equal(cleared.json().apiKeySet, false, 'null clears the key')

  // Delete: refused while deployments use it, unless forced.
  const inUse = await admin('DELETE', '/admin/providers/mock2')
  t.equal(inUse.statusCode, 409)
  t.match(inUse.json().error.message, new RegExp(SECOND))
  t.equal((await viewer('DELETE', '/admin/providers/oa')).statusCode, 403)
  t.equal((await admin('DELETE', '/admin/providers/oa')).statusCode, 200)
  t.equal((await viewer('GET', '/admin/providers/oa')).statusCode, 404)
  t.equal((await admin('DELETE', '/admin/providers/mock2?force=true')).statusCode, 200)
  t.equal(await app.db.deployment.count({ where: { providerId: 'mock2' } }), 0, 'force cascades to deployments')
  t.same(app.modelRouting.table.get('base')!.deployments.map((d) => d.id), [FIRST])

  const entries = await audit('provider.')
  t.same(entries.map((e) => e.action).sort(), ['provider.create', 'provider.create', 'provider.delete', 'provider.delete', 'provider.update', 'provider.update', 'provider.update'])
  const create = entries.find((e) => e.action === 'provider.create' && e.target === 'oa')!
  t.match(create, { actor: 'tester', before: null, after: { name: 'oa', apiKey: '[set]', headers: { 'x-api-key': '[set]' } } })
  t.notMatch(JSON.stringify(entries), /sk-literal-secret-123|hdr-secret-456/, 'the audit log holds no secret')
  const update = entries.find((e) => e.action === 'provider.update' && (e.after as { apiKey: unknown }).apiKey === null)!
  t.match(update, { before: { apiKey: '[set]' }, after: { apiKey: null } })
})

test('models: create with deployments takes effect on the next request; validation, clashes, delete', async (t) => {
  const { app, admin, viewer, chat, audit } = await setup(t)

  t.equal((await chat('fresh')).statusCode, 404, 'not served yet')
  const body = { name: 'fresh', aliases: ['fresh-alias'], deployments: [{ provider: 'mock', model: 'fresh-up' }] }
  t.equal((await viewer('POST', '/admin/models', body)).statusCode, 403)
  const created = await admin('POST', '/admin/models', body)
  t.equal(created.statusCode, 201)
  t.match(created.json(), { name: 'fresh', aliases: ['fresh-alias'], source: 'admin', deployments: [{ id: 'fresh:mock:fresh-up', provider: 'mock', upstreamModel: 'fresh-up', position: 0, source: 'admin' }] })

  const res = await chat('fresh')
  t.equal(res.statusCode, 200, 'served on the very next request')
  t.equal(res.headers['x-switchyard-deployment'], 'fresh:mock:fresh-up')
  t.equal(res.json().model, 'fresh-up')
  t.equal((await chat('fresh-alias')).headers['x-switchyard-deployment'], 'fresh:mock:fresh-up', 'alias too')

  const unknownProvider = await admin('POST', '/admin/models', { name: 'x', deployments: [{ provider: 'mock' }, { provider: 'opnai' }] })
  t.equal(unknownProvider.statusCode, 400)
  t.equal(unknownProvider.json().error.param, 'deployments[1].provider')
  t.match(unknownProvider.json().error.message, /deployments\[1\]\.provider: unknown provider "opnai"/)
  const noDeployments = await admin('POST', '/admin/models', { name: 'x' })
  t.equal(noDeployments.statusCode, 400)
  t.equal(noDeployments.json().error.param, 'deployments')
  const badWeight = await admin('POST', '/admin/models', { name: 'x', deployments: [{ provider: 'mock', weight: 0 }] })
  t.equal(badWeight.json().error.param, 'deployments[0].weight')
  const badStrategy = await admin('POST', '/admin/models', { name: 'x', strategy: 'fastest', deployments: [{ provider: 'mock' }] })
  t.equal(badStrategy.statusCode, 400)
  t.equal(badStrategy.json().error.param, 'strategy')
  const badFallback = await admin('POST', '/admin/models', { name: 'x', fallbacks: ['base', 'ghost'], deployments: [{ provider: 'mock' }] })
  t.equal(badFallback.json().error.param, 'fallbacks[1]')
  const aliasClash = await admin('POST', '/admin/models', { name: 'x', aliases: ['base-alias'], deployments: [{ provider: 'mock' }] })
  t.equal(aliasClash.statusCode, 409)
  t.equal(aliasClash.json().error.param, 'aliases[0]')
  t.match(aliasClash.json().error.message, /already used by model "base"/)
  const nameIsAlias = await admin('POST', '/admin/models', { name: 'base-alias', deployments: [{ provider: 'mock' }] })
  t.equal(nameIsAlias.statusCode, 409)
  t.equal((await admin('POST', '/admin/models', body)).statusCode, 409, 'name taken')
  t.equal(await app.db.model.count(), 2, 'no rejected model was stored')

  // GET
  const one = await viewer('GET', '/admin/models/base')
  t.equal(one.statusCode, 200)
  t.same(one.json().deployments.map((d: { id: string }) => d.id), [FIRST, SECOND])
  t.same((await viewer('GET', '/admin/models')).json().data.map((m: { name: string }) => m.name), ['base', 'fresh'])
  t.equal((await viewer('GET', '/admin/models/nope')).statusCode, 404)

  // PATCH
  const patched = await admin('PATCH', '/admin/models/fresh', { aliases: ['fresh-2'], fallbacks: ['base'], strategy: 'cost', timeouts: { totalMs: 5000 } })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { aliases: ['fresh-2'], fallbacks: ['base'], strategy: 'cost', timeouts: { totalMs: 5000 } })
  t.equal((await chat('fresh-alias')).statusCode, 404, 'the old alias is gone on the next request')
  t.equal((await chat('fresh-2')).statusCode, 200, 'the new alias answers')
  t.equal(app.modelRouting.table.get('fresh')!.strategy, 'cost')
  const clash = await admin('PATCH', '/admin/models/fresh', { aliases: ['base'] })
  t.equal(clash.statusCode, 409)
  t.equal(clash.json().error.param, 'aliases[0]')
  const self = await admin('PATCH', '/admin/models/fresh', { fallbacks: ['fresh'] })
  t.equal(self.statusCode, 400)
  t.equal(self.json().error.param, 'fallbacks[0]')
  const badField = await admin('PATCH', '/admin/models/fresh', { deployments: [] })
  t.equal(badField.json().error.param, 'deployments')
  t.equal((await admin('PATCH', '/admin/models/fresh', { strategy: null })).json().strategy, null, 'null clears')

  // DELETE: refused while referenced
  const referenced = await admin('DELETE', '/admin/models/base')
  t.equal(referenced.statusCode, 409)
  t.match(referenced.json().error.message, /models\["fresh"\]\.fallbacks\[0\]: unknown model "base"/)
  t.equal((await viewer('DELETE', '/admin/models/fresh')).statusCode, 403)
  const deleted = await admin('DELETE', '/admin/models/fresh')
  t.equal(deleted.statusCode, 200)
  t.equal((await chat('fresh')).statusCode, 404, 'gone on the next request')
  t.equal(await app.db.deployment.count({ where: { modelId: 'fresh' } }), 0)
  t.equal((await admin('DELETE', '/admin/models/base?force=true')).statusCode, 200)
  t.equal((await chat('base')).statusCode, 404)

  const entries = await audit('model.')
  t.same(entries.map((e) => e.action).sort(), ['model.create', 'model.delete', 'model.delete', 'model.update', 'model.update'])
  t.match(entries.find((e) => e.action === 'model.create'), { actor: 'tester', target: 'fresh', before: null, after: { name: 'fresh', deployments: [{ id: 'fresh:mock:fresh-up' }] } })
  t.match(entries.find((e) => e.action === 'model.update' && (e.after as { strategy: unknown }).strategy === 'cost'), { before: { aliases: ['fresh-alias'] }, after: { aliases: ['fresh-2'] } })
})

test('deployments: disable moves traffic on the next request; add, patch, delete; ids with ":" and "/"', async (t) => {
  const { app, admin, viewer, chat, audit } = await setup(t)
  const url = (id: string) => `/admin/deployments/${encodeURIComponent(id)}`

  const list = await viewer('GET', '/admin/deployments?model=base')
  t.equal(list.statusCode, 200)
  t.same(list.json().data.map((d: { id: string }) => d.id), [FIRST, SECOND])
  t.same((await viewer('GET', '/admin/deployments?model=nope')).json().data, [])
  t.equal((await viewer('GET', url(FIRST))).json().upstreamModel, 'base-up')

  t.equal((await chat('base')).headers['x-switchyard-deployment'], FIRST, 'declared order first')
  t.equal((await viewer('PATCH', url(FIRST), { enabled: false })).statusCode, 403)
  const disabled = await admin('PATCH', url(FIRST), { enabled: false })
  t.equal(disabled.statusCode, 200)
  t.match(disabled.json(), { id: FIRST, enabled: false, source: 'admin' })
  t.equal((await chat('base')).headers['x-switchyard-deployment'], SECOND, 'traffic moved on the next request')
  t.equal((await admin('PATCH', url(FIRST), { enabled: true })).statusCode, 200)
  t.equal((await chat('base')).headers['x-switchyard-deployment'], FIRST, 'and back')

  // position decides the declared order
  await admin('PATCH', url(FIRST), { position: 5 })
  t.equal((await chat('base')).headers['x-switchyard-deployment'], SECOND, 'moved after the other one')
  await admin('PATCH', url(FIRST), { position: 0 })

  // upstream model, price, limits
  const patched = await admin('PATCH', url(FIRST), { model: 'base-up-v2', weight: 3, rpm: 100, tpm: 5000, pricing: { input: 1, output: 2, cacheRead: 0.5 } })
  t.match(patched.json(), { upstreamModel: 'base-up-v2', weight: 3, rpm: 100, tpm: 5000, pricing: { input: 1, output: 2, cacheRead: 0.5, cacheWrite: null } })
  const res = await chat('base')
  t.equal(res.json().model, 'base-up-v2', 'the new upstream model is called')
  t.equal(res.headers['x-switchyard-deployment'], FIRST, 'the id does not change')
  t.ok(res.headers['x-switchyard-cost-usd'], 'the deployment price applies')
  t.match(app.modelRouting.table.deployments.get(FIRST), { rpm: 100, tpm: 5000, weight: 3 })
  const cleared = await admin('PATCH', url(FIRST), { pricing: null, rpm: null })
  t.match(cleared.json(), { pricing: null, rpm: null, tpm: 5000 })
  t.notOk((await chat('base')).headers['x-switchyard-cost-usd'], 'no price for a mock model once cleared')

  const badWeight = await admin('PATCH', url(FIRST), { weight: 0 })
  t.equal(badWeight.statusCode, 400)
  t.equal(badWeight.json().error.param, 'weight')
  const badPrice = await admin('PATCH', url(FIRST), { pricing: { input: 1 } })
  t.equal(badPrice.json().error.param, 'pricing.output')
  t.equal((await admin('PATCH', url('nope'), { weight: 1 })).statusCode, 404)

  // add
  const added = await admin('POST', '/admin/models/base/deployments', { provider: 'mock', model: 'org/base-up3', id: 'base/third@eu' })
  t.equal(added.statusCode, 201)
  t.match(added.json(), { id: 'base/third@eu', model: 'base', upstreamModel: 'org/base-up3', position: 2, source: 'admin' })
  t.equal((await viewer('GET', url('base/third@eu'))).statusCode, 200, 'an id with "/" works URL-encoded')
  await admin('PATCH', url(FIRST), { enabled: false })
  await admin('PATCH', url(SECOND), { enabled: false })
  const third = await chat('base')
  t.equal(third.headers['x-switchyard-deployment'], 'base/third@eu', 'the added deployment takes traffic')
  t.equal(third.json().model, 'org/base-up3')
  t.equal((await admin('POST', '/admin/models/base/deployments', { provider: 'mock', model: 'org/base-up3', id: 'base/third@eu' })).statusCode, 409)
  const unknownProvider = await admin('POST', '/admin/models/base/deployments', { provider: 'ghost' })
  t.equal(unknownProvider.statusCode, 400)
  t.equal(unknownProvider.json().error.param, 'provider')
  t.equal((await admin('POST', '/admin/models/base/deployments', { provider: 'mock', extra: 1 })).json().error.param, 'extra')
  t.equal((await admin('POST', '/admin/models/ghost/deployments', { provider: 'mock' })).statusCode, 404)
  t.equal((await viewer('POST', '/admin/models/base/deployments', { provider: 'mock2', model: 'y' })).statusCode, 403)

  // delete
  t.equal((await viewer('DELETE', url(SECOND))).statusCode, 403)
  t.equal((await admin('DELETE', url(SECOND))).statusCode, 200)
  t.equal((await admin('DELETE', url(FIRST))).statusCode, 200)
  t.notOk(app.modelRouting.table.deployments.has(FIRST))
  const last = await admin('DELETE', url('base/third@eu'))
  t.equal(last.statusCode, 409, 'the last deployment of a model stays')
  t.equal((await chat('base')).statusCode, 200)

  const entries = await audit('deployment.')
  t.equal(entries.filter((e) => e.action === 'deployment.update').length, 8)
  t.equal(entries.filter((e) => e.action === 'deployment.delete').length, 2)
  t.match(entries.find((e) => e.action === 'deployment.create'), { target: 'base/third@eu', before: null, after: { provider: 'mock' } })
  const disable = entries.find((e) => e.action === 'deployment.update' && (e.after as { enabled: boolean }).enabled === false && (e.before as { enabled: boolean }).enabled === true && e.target === FIRST)
  t.ok(disable, 'the disable is audited with before and after')
})

test('pricing: an admin price changes the cost header on the next request; model ids with "/"', async (t) => {
  const gateway = seed({
    models: [
      { name: 'base', deployments: [{ provider: 'mock', model: 'base-up' }] },
      { name: 'slashed', deployments: [{ provider: 'mock', model: 'org/up-model' }] },
    ],
  })
  const { admin, viewer, chat, audit } = await setup(t, { gateway })
  const cost = (res: { headers: Record<string, unknown> }) => res.headers['x-switchyard-cost-usd'] as string | undefined
  const expected = (res: { json(): { usage: { prompt_tokens: number; completion_tokens: number } } }, input: number, output: number) => {
    const u = res.json().usage
    return (u.prompt_tokens * input + u.completion_tokens * output) / 1e6
  }

  const before = await chat('base')
  t.equal(cost(before), undefined, 'the catalog has no price for a mock model')

  t.equal((await viewer('PUT', '/admin/pricing/mock/base-up', { input: 1000, output: 2000 })).statusCode, 403)
  const put = await admin('PUT', '/admin/pricing/mock/base-up', { input: 1000, output: 2000 })
  t.equal(put.statusCode, 200)
  t.match(put.json(), { providerType: 'mock', model: 'base-up', input: 1000, output: 2000, cacheRead: null, source: 'admin' })
  const priced = await chat('base')
  t.ok(cost(priced), 'priced on the very next request')
  t.ok(Math.abs(Number(cost(priced)) - expected(priced, 1000, 2000)) < 1e-9, `cost ${cost(priced)} matches the admin price`)

  await admin('PUT', '/admin/pricing/mock/base-up', { input: 3000, output: 6000 })
  const repriced = await chat('base')
  t.ok(Math.abs(Number(cost(repriced)) - expected(repriced, 3000, 6000)) < 1e-9, 'the new price applies')
  t.not(cost(repriced), cost(priced))

  // A model id with "/" is sent URL-encoded.
  const slashed = await admin('PUT', '/admin/pricing/mock/org%2Fup-model', { input: 500, output: 500, cacheWrite: 1 })
  t.equal(slashed.statusCode, 200)
  t.equal(slashed.json().model, 'org/up-model')
  const sres = await chat('slashed')
  t.ok(Math.abs(Number(cost(sres)) - expected(sres, 500, 500)) < 1e-9)
  t.equal((await viewer('GET', '/admin/pricing/mock/org%2Fup-model')).json().cacheWrite, 1)
  const page = await viewer('GET', '/admin/pricing?providerType=mock')
  t.equal(page.statusCode, 200)
  t.match(page.json(), { total: 2, limit: 100, offset: 0 })
  t.same(page.json().data.map((p: { model: string }) => p.model), ['base-up', 'org/up-model'])
  t.same((await viewer('GET', `/admin/pricing?model=${encodeURIComponent('org/up-model')}`)).json().data.map((p: { providerType: string }) => p.providerType), ['mock'])
  const paged = await viewer('GET', '/admin/pricing?providerType=mock&limit=1&offset=1')
  t.same(paged.json().data.map((p: { model: string }) => p.model), ['org/up-model'])
  t.equal(paged.json().total, 2)
  t.equal((await viewer('GET', '/admin/pricing?limit=0')).statusCode, 400)

  // validation
  const negative = await admin('PUT', '/admin/pricing/mock/base-up', { input: -1, output: 1 })
  t.equal(negative.statusCode, 400)
  t.equal(negative.json().error.param, 'input')
  const badType = await admin('PUT', '/admin/pricing/nope/x', { input: 1, output: 1 })
  t.equal(badType.statusCode, 400)
  t.equal(badType.json().error.param, 'providerType')

  // Delete: admin rows only. Without a catalog price the row goes.
  const del = await admin('DELETE', '/admin/pricing/mock/base-up')
  t.equal(del.statusCode, 200)
  t.equal(del.json().current, null)
  t.equal(cost(await chat('base')), undefined, 'no price on the next request')
  t.equal((await admin('DELETE', '/admin/pricing/mock/base-up')).statusCode, 404)

  // A catalog row cannot be deleted; overriding it and deleting the override puts it back.
  const catalog = (await viewer('GET', '/admin/pricing?providerType=openai&source=catalog&limit=1')).json()
  t.ok(catalog.total > 0, 'the catalog is stored')
  const row = catalog.data[0]
  const rowUrl = `/admin/pricing/openai/${encodeURIComponent(row.model)}`
  const refused = await admin('DELETE', rowUrl)
  t.equal(refused.statusCode, 409)
  t.equal((await admin('PUT', rowUrl, { input: 123, output: 456 })).json().source, 'admin')
  const restored = await admin('DELETE', rowUrl)
  t.equal(restored.statusCode, 200)
  t.match(restored.json().current, { source: 'catalog', input: row.input, output: row.output })

  const entries = await audit('pricing.')
  t.equal(entries.filter((e) => e.action === 'pricing.set').length, 4)
  t.match(entries.find((e) => e.action === 'pricing.set' && e.target === 'mock/base-up' && (e.after as { input: number }).input === 3000), {
    actor: 'tester',
    before: { input: 1000, output: 2000, source: 'admin' },
    after: { input: 3000, output: 6000 },
  })
  t.match(entries.find((e) => e.action === 'pricing.delete' && e.target === 'mock/base-up'), { before: { input: 3000 }, after: null })
})

test('rules: a header-matched request goes to the named deployment on the next request', async (t) => {
  const { app, admin, viewer, chat, audit } = await setup(t, { gateway: seed({ routing: { strategy: 'rules' } }) })
  const header = { 'x-route': 'second' }

  t.equal((await chat('base', header)).headers['x-switchyard-deployment'], FIRST, 'no rule yet')
  const body = { name: 'pin-second', conditions: { header: { name: 'X-Route', equals: 'second' } }, action: { type: 'deployments', deploymentIds: [SECOND] } }
  t.equal((await viewer('POST', '/admin/rules', body)).statusCode, 403)
  const created = await admin('POST', '/admin/rules', body)
  t.equal(created.statusCode, 201)
  const rule = created.json()
  t.match(rule, { name: 'pin-second', position: 0, enabled: true, conditions: body.conditions, action: body.action })
  t.match(rule.id, /^rule_/)
  t.equal(JSON.parse((await app.db.routingRule.findUniqueOrThrow({ where: { id: rule.id } })).action).deploymentIds[0], SECOND, 'stored as JSON text')

  t.equal((await chat('base', header)).headers['x-switchyard-deployment'], SECOND, 'the rule applies on the next request')
  t.equal((await chat('base')).headers['x-switchyard-deployment'], FIRST, 'other requests are untouched')
  t.equal((await chat('base', { 'x-route': 'other' })).headers['x-switchyard-deployment'], FIRST)

  t.same((await viewer('GET', '/admin/rules')).json().data.map((r: { id: string }) => r.id), [rule.id])
  t.equal((await viewer('GET', `/admin/rules/${rule.id}`)).json().name, 'pin-second')

  // validation
  const unknownId = await admin('POST', '/admin/rules', { name: 'x', action: { type: 'deployments', deploymentIds: [FIRST, 'base:ghost:x'] } })
  t.equal(unknownId.statusCode, 400)
  t.equal(unknownId.json().error.param, 'action.deploymentIds[1]')
  const rulesStrategy = await admin('POST', '/admin/rules', { name: 'x', action: { type: 'strategy', strategy: 'rules' } })
  t.equal(rulesStrategy.statusCode, 400)
  t.equal(rulesStrategy.json().error.param, 'action.strategy')
  const badType = await admin('POST', '/admin/rules', { name: 'x', action: { type: 'teleport' } })
  t.equal(badType.json().error.param, 'action.type')
  const badModel = await admin('POST', '/admin/rules', { name: 'x', action: { type: 'model', model: 'ghost' } })
  t.equal(badModel.json().error.param, 'action.model')
  const badCondition = await admin('POST', '/admin/rules', { name: 'x', conditions: { header: { equals: 'y' } }, action: { type: 'strategy', strategy: 'cost' } })
  t.equal(badCondition.json().error.param, 'conditions.header.name')
  const unknownCondition = await admin('POST', '/admin/rules', { name: 'x', conditions: { region: 'eu' }, action: { type: 'strategy', strategy: 'cost' } })
  t.equal(unknownCondition.json().error.param, 'conditions.region')
  const bounds = await admin('POST', '/admin/rules', { name: 'x', conditions: { minPromptTokens: 10, maxPromptTokens: 5 }, action: { type: 'strategy', strategy: 'cost' } })
  t.equal(bounds.json().error.param, 'conditions.maxPromptTokens')
  const noName = await admin('POST', '/admin/rules', { action: { type: 'strategy', strategy: 'cost' } })
  t.equal(noName.json().error.param, 'name')
  t.equal(await app.db.routingRule.count(), 1, 'nothing invalid was stored')

  // A model action (by alias) and ordering by position.
  const toFresh = await admin('POST', '/admin/models', { name: 'fresh', deployments: [{ provider: 'mock', model: 'fresh-up' }] })
  t.equal(toFresh.statusCode, 201)
  const redirect = await admin('POST', '/admin/rules', { name: 'redirect', conditions: { header: { name: 'x-route', matches: 'sec*' } }, action: { type: 'model', model: 'fresh' } })
  t.equal(redirect.statusCode, 201)
  t.equal(redirect.json().position, 1, 'appended after the others')
  t.equal((await chat('base', header)).headers['x-switchyard-deployment'], SECOND, 'the first matching rule wins')
  t.equal((await admin('PATCH', `/admin/rules/${redirect.json().id}`, { position: 0 })).statusCode, 200)
  await admin('PATCH', `/admin/rules/${rule.id}`, { position: 1 })
  t.equal((await chat('base', header)).headers['x-switchyard-deployment'], 'fresh:mock:fresh-up', 'reordered on the next request')

  // disable, update, delete
  await admin('PATCH', `/admin/rules/${redirect.json().id}`, { enabled: false })
  t.equal((await chat('base', header)).headers['x-switchyard-deployment'], SECOND, 'a disabled rule is skipped')
  const retarget = await admin('PATCH', `/admin/rules/${rule.id}`, { action: { type: 'deployments', deploymentIds: [FIRST] } })
  t.equal(retarget.statusCode, 200)
  t.equal((await chat('base', header)).headers['x-switchyard-deployment'], FIRST)
  const badPatch = await admin('PATCH', `/admin/rules/${rule.id}`, { action: { type: 'deployments', deploymentIds: [] } })
  t.equal(badPatch.json().error.param, 'action.deploymentIds')
  t.equal((await viewer('DELETE', `/admin/rules/${rule.id}`)).statusCode, 403)
  t.equal((await admin('DELETE', `/admin/rules/${rule.id}`)).statusCode, 200)
  t.equal((await admin('DELETE', `/admin/rules/${rule.id}`)).statusCode, 404)
  t.same(app.strategy.rules().map((r) => r.id), [], 'only the disabled rule is left, and it is not loaded')

  // A model that a rule routes to cannot be deleted without force.
  await admin('PATCH', `/admin/rules/${redirect.json().id}`, { enabled: true })
  const refer = await admin('DELETE', '/admin/models/fresh')
  t.equal(refer.statusCode, 409)
  t.match(refer.json().error.message, /rule "redirect"/)

  const entries = await audit('rule.')
  t.same(entries.map((e) => e.action).sort(), ['rule.create', 'rule.create', 'rule.delete', 'rule.update', 'rule.update', 'rule.update', 'rule.update', 'rule.update'])
  t.match(entries.find((e) => e.action === 'rule.create' && e.target === rule.id), { actor: 'tester', before: null, after: { name: 'pin-second', action: { deploymentIds: [SECOND] } } })
})

test('admin changes survive a restart on the same database although the YAML seed says otherwise', async (t) => {
  const databaseUrl = tempSqliteUrl(t)
  const gateway = seed({ routing: { strategy: 'rules' } })
  const first = await setup(t, { gateway, databaseUrl })
  t.equal((await first.admin('POST', '/admin/models', { name: 'fresh', deployments: [{ provider: 'mock', model: 'fresh-up' }] })).statusCode, 201)
  t.equal((await first.admin('PATCH', `/admin/deployments/${encodeURIComponent(FIRST)}`, { enabled: false })).statusCode, 200)
  t.equal((await first.admin('PATCH', '/admin/models/base', { aliases: ['base-renamed'] })).statusCode, 200)
  t.equal((await first.admin('PUT', '/admin/pricing/mock/base-up2', { input: 1000, output: 1000 })).statusCode, 200)
  t.equal((await first.admin('POST', '/admin/providers', { name: 'extra', type: 'mock' })).statusCode, 201)
  t.equal((await first.admin('PATCH', '/admin/providers/mock2', { headers: { 'x-tag': 'admin' } })).statusCode, 200)
  t.equal((await first.admin('POST', '/admin/rules', { name: 'pin', conditions: { header: { name: 'x-pin', equals: 'fresh' } }, action: { type: 'model', model: 'fresh' } })).statusCode, 201)
  await first.app.close()

  // Same YAML: no "fresh", the first deployment enabled, the old alias, no price, no "extra".
  const second = await setup(t, { gateway, databaseUrl })
  t.equal((await second.chat('fresh')).statusCode, 200, 'the admin-made model is still served')
  const base = await second.chat('base')
  t.equal(base.headers['x-switchyard-deployment'], SECOND, 'the disabled deployment stays disabled')
  t.ok(base.headers['x-switchyard-cost-usd'], 'the admin price is still in force')
  t.equal((await second.chat('base-alias')).statusCode, 404, 'the YAML alias does not come back')
  t.equal((await second.chat('base-renamed')).statusCode, 200)
  t.equal((await second.chat('base', { 'x-pin': 'fresh' })).headers['x-switchyard-deployment'], 'fresh:mock:fresh-up', 'the rule is still in force')
  const extra = await second.viewer('GET', '/admin/providers/extra')
  t.equal(extra.statusCode, 200)
  t.equal(extra.json().source, 'admin')
  t.same((await second.viewer('GET', '/admin/providers/mock2')).json().headers, { 'x-tag': 'admin' })
  t.equal((await second.viewer('GET', '/admin/providers/mock')).json().source, 'yaml', 'untouched rows stay YAML-owned')
})
