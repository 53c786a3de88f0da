import { test } from 'tap'
import { createDb, postgresSchema } from '../../lib/storage/client.js'
import { migrate } from '../../lib/storage/migrate.js'
import { insertMany } from '../../lib/storage/insert-many.js'
import { tempPostgresUrl, tempSqliteUrl } from '../helpers/app.js'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`raw batch insert reads back through Prisma (${kind})`, async (t) => {
    const url = kind === 'sqlite' ? tempSqliteUrl(t) : tempPostgresUrl(t)
    if (!url) {
      t.skip('TEST_DATABASE_URL is not set')
      return
    }
    const { db, provider } = await createDb(url)
    t.teardown(() => db.$disconnect())
    await migrate(db, provider, root, postgresSchema(url))
    const at = new Date('2026-01-02T03:04:05.678Z')
    const rows = Array.from({ length: 2500 }, (_, i) => ({
      id: `s${i}`, deploymentId: 'd', model: 'm', stream: i % 2 === 0, status: 200, ok: i % 3 !== 0,
      totalMs: i + 0.5, ttftMs: i % 2 === 0 ? i / 2 : null, promptTokens: i, completionTokens: null, createdAt: at,
    }))
    await insertMany(db, provider, 'LatencySample', rows, postgresSchema(url))
    t.equal(await db.latencySample.count(), 2500)
    const r = await db.latencySample.findUniqueOrThrow({ where: { id: 's42' } })
    t.same(
      { stream: r.stream, ok: r.ok, totalMs: r.totalMs, ttftMs: r.ttftMs, promptTokens: r.promptTokens, completionTokens: r.completionTokens, createdAt: r.createdAt.toISOString() },
      { stream: true, ok: false, totalMs: 42.5, ttftMs: 21, promptTokens: 42, completionTokens: null, createdAt: at.toISOString() },
    )
    t.equal(await db.latencySample.count({ where: { createdAt: { gte: new Date('2026-01-01T00:00:00Z') }, ok: true } }), 1666, 'dates and booleans filter correctly')
  })
}
