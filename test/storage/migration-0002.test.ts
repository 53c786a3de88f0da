// Migration 0002 adds UsageRecord.usageSource to a database created by 0001:
// the rows already there say 'upstream' (their cost came from upstream usage,
// the only source before), new rows can say 'estimate'.
import { test } from 'tap'
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createDb, postgresSchema } from '../../lib/storage/client.js'
import { migrate, migrationsDir } from '../../lib/storage/migrate.js'
import { insertMany } from '../../lib/storage/insert-many.js'
import { emptySqliteUrl, tempPostgresUrl } from '../helpers/app.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`0002 upgrades a 0001 database in place (${kind})`, async (t) => {
    const url = kind === 'sqlite' ? emptySqliteUrl(t) : tempPostgresUrl(t)
    if (!url) {
      t.skip('TEST_DATABASE_URL is not set: Postgres is not tested')
      return
    }
    // A tree holding only the first migration: the database as the previous release left it.
    const old = mkdtempSync(join(tmpdir(), 'switchyard-0001-'))
    t.teardown(() => rmSync(old, { recursive: true, force: true }))
    cpSync(join(migrationsDir(root, kind), '0001_init'), join(migrationsDir(old, kind), '0001_init'), { recursive: true })

    const { db, provider } = await createDb(url)
    t.teardown(() => db.$disconnect())
    const schema = postgresSchema(url)
    t.same(await migrate(db, provider, old, schema), ['0001_init'])
    const later = readdirSync(migrationsDir(root, kind)).filter((d) => d !== '0001_init').sort()
    const row = {
      id: 'old-1', requestId: 'r', keyId: null, tenant: null, model: 'm', deploymentId: 'd', provider: 'p', stream: true, status: 200,
      promptTokens: 3, completionTokens: 4, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, costUsd: 0.5, attempts: 1, error: null,
      createdAt: new Date('2026-01-01T00:00:00Z'),
    }
    await insertMany(db, provider, 'UsageRecord', [row], schema)

    t.same(await migrate(db, provider, root, schema), later, 'only the migrations after 0001 run')
    t.equal(later[0], '0002_usage_source')
    const before = await db.usageRecord.findUniqueOrThrow({ where: { id: 'old-1' } })
    t.equal(before.usageSource, 'upstream', 'existing rows keep their meaning')
    t.equal(before.costUsd, 0.5)
    await insertMany(db, provider, 'UsageRecord', [{ ...row, id: 'new-1', usageSource: 'estimate' }], schema)
    t.equal((await db.usageRecord.findUniqueOrThrow({ where: { id: 'new-1' } })).usageSource, 'estimate')
  })
}
