// GET /admin/config/export and POST /admin/config/import: secrets redacted,
// a lossless round trip, every problem reported with its path, and imported
// state in force on the next request and after a restart.
import { before, test } from 'tap'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { parse as parseYaml, stringify } from 'yaml'
import { parseGatewayConfig } from '../../lib/config/gateway-config.js'
import { auth, buildTestApp, tempSqliteUrl } from '../helpers/app.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const SECRET = 'sk-literal-secret-789'
const HEADER_SECRET = 'hdr-secret-321'

// Load shedding would refuse requests right after a slow start on a busy
// machine; these tests are about configuration, so it is off.
const NO_SHEDDING = { shedding: { maxEventLoopDelayMs: 0 } }

function gateway() {
  return {
    limits: NO_SHEDDING,
    providers: [
      { name: 'mock', type: 'mock' },
      { name: 'oa', type: 'openai', baseUrl: 'https://api.example.test/v1', apiKey: SECRET, headers: { 'x-api-key': HEADER_SECRET, 'x-team': 'core' } },
      { name: 'env', type: 'openai', apiKey: '${EXPORT_TEST_API_KEY}' },
    ],
    models: [
      {
        name: 'base',
        aliases: ['b'],
        fallbacks: ['other'],
        deployments: [
          { provider: 'mock', model: 'base-up', pricing: { input: 1, output: 2 } },
          { provider: 'oa', model: 'gpt-x', weight: 2, rpm: 10, enabled: false },
        ],
      },
      { name: 'other', timeouts: { totalMs: 1000 }, deployments: [{ provider: 'mock', id: 'other-1' }] },
    ],
    routing: { strategy: 'cost', defaultModel: 'base', patterns: [{ match: 'llama-*', provider: 'mock' }], timeouts: { totalMs: 30000 } },
  }
}

function client(app: FastifyInstance) {
  const token = (role: string) => ({ authorization: `Bearer ${app.jwt.sign({ sub: 'tester', role })}` })
  const exportYaml = async () => {
    const res = await app.inject({ method: 'GET', url: '/admin/config/export', headers: token('viewer') })
    if (res.statusCode !== 200) throw new Error(`export failed: ${res.statusCode} ${res.body}`)
    return res.body
  }
  const importDoc = (payload: string | object, opts: { mode?: string; type?: string; role?: string } = {}) =>
    app.inject({
      method: 'POST',
      url: `/admin/config/import${opts.mode ? `?mode=${opts.mode}` : ''}`,
      headers: { ...token(opts.role ?? 'admin'), 'content-type': opts.type ?? (typeof payload === 'string' ? 'application/yaml' : 'application/json') },
      payload: (typeof payload === 'string' ? payload : JSON.stringify(payload)) as InjectOptions['payload'],
    })
  const chat = (model: string) =>
    app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: { model, messages: [{ role: 'user', content: 'hi' }] } })
  return { app, token, exportYaml, importDoc, chat }
}

test('export: the configuration in force as YAML, secrets redacted', async (t) => {
  const app = await buildTestApp(t, { gateway: gateway() })
  const { token } = client(app)
  const admin = token('admin')
  t.equal((await app.inject({ method: 'POST', url: '/admin/models', headers: admin, payload: { name: 'added', deployments: [{ provider: 'mock' }] } })).statusCode, 201)

  const res = await app.inject({ method: 'GET', url: '/admin/config/export', headers: token('viewer') })
  t.equal(res.statusCode, 200, 'viewer may export')
  t.match(res.headers['content-type'], /^application\/yaml/)
  t.equal(res.headers['x-switchyard-redacted'], '2')
  t.notMatch(res.body, new RegExp(`${SECRET}|${HEADER_SECRET}`), 'no secret in the export')
  t.match(res.body, /^# .*\n# Secrets are not exported/)
  t.match(res.body, /# Redacted: providers\[1\]\.apiKey, providers\[1\]\.headers\.x-api-key\n/)

  const doc = parseYaml(res.body)
  t.equal(doc.providers[1].apiKey, '${REDACTED}')
  t.same(doc.providers[1].headers, { 'x-api-key': '[REDACTED]', 'x-team': 'core' })
  t.equal(doc.providers[2].apiKey, '${EXPORT_TEST_API_KEY}', 'a ${VAR} reference is exported as is')
  t.same(doc.models.map((m: { name: string }) => m.name), ['base', 'other', 'added'], 'admin-made models included')
  t.same(doc.models[0].deployments[0], { id: 'base:mock:base-up', provider: 'mock', model: 'base-up', weight: 1, enabled: true, pricing: { input: 1, output: 2 } })
  t.match(doc.models[0].deployments[1], { id: 'base:oa:gpt-x', weight: 2, rpm: 10, enabled: false })
  t.same(doc.routing, { strategy: 'cost', defaultModel: 'base', patterns: [{ match: 'llama-*', provider: 'mock' }], timeouts: { totalMs: 30000 } })
  t.doesNotThrow(() => parseGatewayConfig(doc, {}), 'the export is a valid gateway config')

  t.equal((await app.inject({ method: 'GET', url: '/admin/config/export' })).statusCode, 401)
})

test('export -> import -> export is lossless and keeps the stored secrets', async (t) => {
  const app = await buildTestApp(t, { gateway: gateway() })
  const { exportYaml, importDoc, chat, token } = client(app)
  const first = await exportYaml()

  const res = await importDoc(first, { mode: 'replace' })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), {
    mode: 'replace',
    created: [],
    updated: ['provider mock', 'provider oa', 'provider env', 'model base', 'model other'],
    deleted: [],
    settings: ['routing.strategy', 'routing.defaultModel', 'routing.patterns', 'routing.timeouts', 'routing.retries', 'routing.cooldown'],
    ignored: [],
  })
  t.equal(await exportYaml(), first, 'the export is unchanged')

  const oa = await app.db.provider.findUniqueOrThrow({ where: { name: 'oa' } })
  t.equal(oa.apiKey, SECRET, '"${REDACTED}" kept the stored key')
  t.equal(JSON.parse(oa.options).headers['x-api-key'], HEADER_SECRET, 'and the stored header value')
  t.equal((await app.db.provider.findUniqueOrThrow({ where: { name: 'env' } })).apiKey, '${EXPORT_TEST_API_KEY}')
  for (const table of ['provider', 'model', 'deployment'] as const) {
    const sources = new Set((await (app.db[table] as { findMany(): Promise<Array<{ source: string }>> }).findMany()).map((r) => r.source))
    t.same([...sources], ['admin'], `every ${table} is admin-owned after the import`)
  }

  // The same document as JSON (merge mode) changes nothing either.
  const asJson = await importDoc(parseYaml(first))
  t.equal(asJson.statusCode, 200, asJson.body)
  t.same(asJson.json().settings, ['routing.strategy', 'routing.defaultModel', 'routing.patterns', 'routing.timeouts'], 'merge writes the settings the document gives')
  t.equal(await exportYaml(), first)
  t.equal((await chat('b')).headers['x-switchyard-deployment'], 'base:mock:base-up')

  const audit = (await app.inject({ method: 'GET', url: '/admin/audit?action=config.', headers: token('admin') })).json().data
  t.equal(audit.length, 2)
  t.match(audit.find((e: { target: string }) => e.target === 'replace'), { actor: 'tester', action: 'config.import', before: { providers: [{ name: 'mock' }] }, after: { models: [{ name: 'base' }] } })
  t.notMatch(JSON.stringify(audit), new RegExp(`${SECRET}|${HEADER_SECRET}`), 'the audit log holds no secret')
})

test('import: invalid documents are refused with every problem and its path; nothing changes', async (t) => {
  const app = await buildTestApp(t, { gateway: gateway() })
  const { exportYaml, importDoc } = client(app)
  const before = await exportYaml()

  const schema = await importDoc(
    stringify({ providers: [{ name: 'p', type: 'openia' }], models: [{ name: 'm', deployments: [] }], routing: { strategy: 'model', bogus: 1 } }),
  )
  t.equal(schema.statusCode, 400)
  t.equal(schema.json().error.param, 'providers[0].type')
  const message: string = schema.json().error.message
  t.match(message, /providers\[0\]\.type: .*expected one of "openai"/)
  t.match(message, /models\[0\]\.deployments: /)
  t.match(message, /routing\.bogus: /)

  const refs = await importDoc(
    { providers: [{ name: 'p', type: 'mock' }], models: [{ name: 'm', fallbacks: ['ghost'], deployments: [{ provider: 'nope' }] }], routing: { defaultModel: 'ghost', strategy: 'fastest' } },
    { mode: 'replace' },
  )
  t.equal(refs.statusCode, 400)
  t.equal(refs.json().error.param, 'models[0].deployments[0].provider')
  for (const p of ['models[0].deployments[0].provider: unknown provider "nope"', 'models[0].fallbacks[0]: unknown model "ghost"', 'routing.defaultModel: unknown model "ghost"', 'routing.strategy: unknown strategy "fastest"']) {
    t.ok(refs.json().error.message.includes(p), `reports ${p}`)
  }

  // Merge mode checks references against what is stored: "mock" exists, a clash with a stored alias is reported.
  const clash = await importDoc({ models: [{ name: 'x', aliases: ['b'], deployments: [{ provider: 'mock' }] }] })
  t.equal(clash.statusCode, 400)
  t.match(clash.json().error.message, /stored model "base"\.aliases\[0\]: "b" is already used by models\[0\]/)

  const syntax = await importDoc('providers: [\n  - {name: ', { type: 'text/plain' })
  t.equal(syntax.statusCode, 400)
  t.match(syntax.json().error.message, /YAML syntax/)
  const notMap = await importDoc('- a\n- b\n')
  t.equal(notMap.statusCode, 400)
  t.equal(notMap.json().error.param, '(root)')

  const envRef = await importDoc({ providers: [{ name: 'leak', type: 'openai', baseUrl: 'https://${HOME}/v1', headers: { 'x-a': '${JWT_SECRET}' } }] })
  t.equal(envRef.statusCode, 400, 'the server environment is never read outside apiKey')
  t.equal(envRef.json().error.param, 'providers[0].baseUrl')
  t.match(envRef.json().error.message, /providers\[0\]\.headers\.x-a: /)

  const placeholder = await importDoc({ providers: [{ name: 'fresh', type: 'openai', apiKey: '${REDACTED}' }] })
  t.equal(placeholder.statusCode, 400)
  t.equal(placeholder.json().error.param, 'providers[0].apiKey')

  t.equal((await importDoc({}, { mode: 'everything' })).statusCode, 400)
  const viewer = await importDoc({ providers: [{ name: 'v', type: 'mock' }] }, { role: 'viewer' })
  t.equal(viewer.statusCode, 403)
  t.equal(await exportYaml(), before, 'nothing was applied')
  t.equal(await app.db.auditLog.count({ where: { action: 'config.import' } }), 0)
})

test('import: merge and replace are in force on the next request and survive a restart', async (t) => {
  const databaseUrl = tempSqliteUrl(t)
  const seed = {
    providers: [{ name: 'mock', type: 'mock' }],
    models: [{ name: 'base', deployments: [{ provider: 'mock', model: 'base-up' }] }],
    routing: { strategy: 'model' },
    limits: NO_SHEDDING,
  }
  const first = client(await buildTestApp(t, { gateway: seed, databaseUrl }))

  const merged = await first.importDoc({
    providers: [{ name: 'mock2', type: 'mock' }],
    models: [
      { name: 'imported', deployments: [{ provider: 'mock2', model: 'imp-up' }] },
      { name: 'on-stored', deployments: [{ provider: 'mock', model: 'stored-up' }] },
    ],
  })
  t.equal(merged.statusCode, 200, merged.body)
  t.match(merged.json(), { mode: 'merge', created: ['provider mock2', 'model imported', 'model on-stored'], deleted: [], settings: [] })
  const imported = await first.chat('imported')
  t.equal(imported.statusCode, 200, 'served on the next request')
  t.equal(imported.headers['x-switchyard-deployment'], 'imported:mock2:imp-up')
  t.equal((await first.chat('on-stored')).statusCode, 200, 'merge may refer to stored providers')
  t.equal((await first.chat('base')).statusCode, 200, 'merge keeps what the document does not list')

  const replace = [
    'providers:',
    '  - { name: mock, type: mock }',
    '  - { name: envp, type: openai, apiKey: "${ENVP_API_KEY}" }',
    'models:',
    '  - name: only',
    '    deployments:',
    '      - { provider: mock, model: only-up }',
    'routing:',
    '  strategy: cost',
    'limits:',
    '  rpm: 100',
    '',
  ].join('\n')
  const replaced = await first.importDoc(replace, { mode: 'replace', type: 'text/plain' })
  t.equal(replaced.statusCode, 200, replaced.body)
  t.same(replaced.json().deleted.sort(), ['model base', 'model imported', 'model on-stored', 'provider mock2'])
  t.same(replaced.json().ignored, ['limits'], 'sections the database does not hold are reported')
  t.equal((await first.chat('imported')).statusCode, 404, 'replace removed it for the next request')
  t.equal((await first.chat('base')).statusCode, 404)
  t.equal((await first.chat('only')).headers['x-switchyard-deployment'], 'only:mock:only-up')
  t.equal(first.app.modelRouting.table.strategy, 'cost')
  t.equal((await first.app.db.provider.findUniqueOrThrow({ where: { name: 'envp' } })).apiKey, '${ENVP_API_KEY}', 'apiKey references are stored, not interpolated')
  await first.app.close()

  // The YAML seed still says strategy "model" and provider "mock" as YAML-owned.
  const second = client(await buildTestApp(t, { gateway: seed, databaseUrl }))
  t.equal((await second.chat('only')).headers['x-switchyard-deployment'], 'only:mock:only-up', 'imported state survives the restart')
  t.equal(second.app.modelRouting.table.strategy, 'cost', 'the imported routing setting wins over the YAML')
  t.equal((await second.app.db.provider.findUniqueOrThrow({ where: { name: 'mock' } })).source, 'admin')
  t.equal((await second.app.db.setting.findUniqueOrThrow({ where: { key: 'routing.strategy' } })).source, 'admin')
})
