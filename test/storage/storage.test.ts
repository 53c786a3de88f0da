// The storage layer on SQLite always, and on Postgres when TEST_DATABASE_URL is set.
import { test } from 'tap'
import { createDb, providerOf } from '../../lib/storage/client.js'
import { migrate, migrationsDir } from '../../lib/storage/migrate.js'
import { readdirSync } from 'node:fs'
import { loadConfig, seedFromConfig } from '../../lib/storage/config-store.js'
import { parseGatewayConfig } from '../../lib/config/gateway-config.js'
import { postgresSchema } from '../../lib/storage/client.js'
import { emptySqliteUrl, tempPostgresUrl } from '../helpers/app.js'
import { fileURLToPath } from 'node:url'
import { join, dirname } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

const yaml = parseGatewayConfig({
  providers: [
    { name: 'mock', type: 'mock' },
    { name: 'oa', type: 'openai', baseUrl: 'http://127.0.0.1:1/v1', apiKey: '${OA_API_KEY}' },
  ],
  models: [
    { name: 'a', aliases: ['a1'], fallbacks: ['b'], deployments: [{ provider: 'mock', pricing: { input: 1, output: 2, cacheRead: 0.1 } }, { provider: 'oa', model: 'x', weight: 2 }] },
    { name: 'b', deployments: [{ provider: 'mock' }] },
  ],
  routing: { strategy: 'cost', defaultModel: 'a', patterns: [{ match: 'x-*', provider: 'oa' }] },
})

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`storage on ${kind}`, async (t) => {
    const url = kind === 'sqlite' ? emptySqliteUrl(t) : tempPostgresUrl(t)
    if (!url) {
      t.skip('TEST_DATABASE_URL is not set: Postgres storage test skipped')
      return
    }
    t.equal(providerOf(url), kind)
    const { db, provider } = await createDb(url)
    t.teardown(() => db.$disconnect())
    const schema = kind === 'postgres' ? postgresSchema(url) : undefined
    t.same(await migrate(db, provider, root, schema), readdirSync(migrationsDir(root, provider)).sort(), 'every migration applies, in order')
    t.same(await migrate(db, provider, root, schema), [], 'migrations apply once')

    const first = await seedFromConfig(db, yaml)
    t.ok(first.created.includes('model a'))
    const loaded = await loadConfig(db)
    t.same(loaded.routing, { strategy: 'cost', defaultModel: 'a', patterns: [{ match: 'x-*', provider: 'oa' }] })
    t.same(loaded.models[0], {
      name: 'a', aliases: ['a1'], fallbacks: ['b'],
      deployments: [
        { id: 'a:mock:a', provider: 'mock', model: 'a', weight: 1, enabled: true, pricing: { input: 1, output: 2, cacheRead: 0.1 } },
        { id: 'a:oa:x', provider: 'oa', model: 'x', weight: 2, enabled: true },
      ],
    })
    t.equal(loaded.providers[1]!.apiKey, '${OA_API_KEY}', 'the secret template is stored, not the secret')

    // An admin change owns its row: the YAML seed no longer touches it.
    await db.model.update({ where: { id: 'b' }, data: { aliases: '["b-admin"]', source: 'admin' } })
    await db.setting.update({ where: { key: 'routing.strategy' }, data: { value: '"latency"', source: 'admin' } })
    const changedYaml = { ...yaml, models: yaml.models.map((m) => (m.name === 'a' ? { ...m, aliases: ['a2'] } : m)), routing: { ...yaml.routing, strategy: 'balanced' } }
    const second = await seedFromConfig(db, changedYaml)
    t.ok(second.adminOwned.includes('model b'))
    t.ok(second.adminOwned.includes('setting routing.strategy'))
    const after = await loadConfig(db)
    t.same(after.models.find((m) => m.name === 'a')!.aliases, ['a2'], 'YAML-owned rows follow the YAML')
    t.same(after.models.find((m) => m.name === 'b')!.aliases, ['b-admin'], 'admin-owned rows survive')
    t.equal(after.routing.strategy, 'latency')

    // Removing a YAML-owned model from the YAML deletes it.
    await seedFromConfig(db, { ...changedYaml, models: changedYaml.models.filter((m) => m.name !== 'a'), routing: { ...changedYaml.routing, defaultModel: undefined } })
    const removed = await loadConfig(db)
    t.same(removed.models.map((m) => m.name), ['b'])
    t.equal(await db.deployment.count({ where: { modelId: 'a' } }), 0, 'its deployments go with it')
  })
}
