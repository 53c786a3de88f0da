import { test } from 'tap'
import { createDb, sqlitePath } from '../../lib/storage/client.js'
import { migrate } from '../../lib/storage/migrate.js'
import { SqliteWriter } from '../../lib/storage/sqlite-writer.js'
import { tempSqliteUrl } from '../helpers/app.js'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

test('the writer thread\'s SQLite path writes what Prisma reads back', async (t) => {
  const url = tempSqliteUrl(t)
  const { db, provider } = await createDb(url)
  t.teardown(() => db.$disconnect())
  await migrate(db, provider, root)
  const writer = new SqliteWriter(sqlitePath(url))
  t.teardown(() => writer.close())

  const at = new Date('2026-01-02T03:04:05.678Z')
  const rows = Array.from({ length: 250 }, (_, i) => ({
    id: `s${i}`, deploymentId: 'd', model: 'm', stream: i % 2 === 0, status: 200, ok: i % 3 !== 0,
    totalMs: i + 0.5, ttftMs: i % 2 === 0 ? i / 2 : null, promptTokens: i, completionTokens: null, createdAt: i < 100 ? new Date('2025-12-01T00:00:00Z') : at,
  }))
  writer.insert('LatencySample', rows)
  writer.insert('LatencySample', rows.slice(0, 120))
  t.equal(await db.latencySample.count(), 250, 'a batch written again stores each row once')
  const r = await db.latencySample.findUniqueOrThrow({ where: { id: 's142' } })
  t.same(
    { stream: r.stream, ok: r.ok, totalMs: r.totalMs, ttftMs: r.ttftMs, promptTokens: r.promptTokens, completionTokens: r.completionTokens, createdAt: r.createdAt.toISOString() },
    { stream: true, ok: true, totalMs: 142.5, ttftMs: 71, promptTokens: 142, completionTokens: null, createdAt: at.toISOString() },
  )

  writer.upsertLatencyAggregates([{ deploymentId: 'd', count: 3, errors: 1, emaMs: 12.5, emaTtftMs: null, meanCompletionTokens: 40, lastSampleAt: at.toISOString() }])
  writer.upsertLatencyAggregates([{ deploymentId: 'd', count: 4, errors: 1, emaMs: 13.5, emaTtftMs: 2, meanCompletionTokens: 41, lastSampleAt: at.toISOString() }])
  const agg = await db.latencyAggregate.findUniqueOrThrow({ where: { deploymentId: 'd' } })
  t.same({ count: agg.count, emaMs: agg.emaMs, emaTtftMs: agg.emaTtftMs, lastSampleAt: agg.lastSampleAt?.toISOString() }, { count: 4, emaMs: 13.5, emaTtftMs: 2, lastSampleAt: at.toISOString() }, 'the second upsert updated the row')
  t.ok(agg.updatedAt instanceof Date && !Number.isNaN(agg.updatedAt.getTime()), 'updatedAt is a date Prisma can read')

  writer.deleteLatencySamplesBefore('2026-01-01T00:00:00.000Z')
  t.equal(await db.latencySample.count(), 150, 'samples before the cut are deleted, the others kept')

  // A batch with a good row and a row the database refuses (model is NOT NULL).
  const good = { ...rows[200]!, id: 'good' }
  const bad = { ...rows[200]!, id: 'bad', model: null as unknown as string }
  t.throws(() => writer.insert('LatencySample', [good, bad]), 'a batch with a refused row throws (the batch writer sets it apart)')
  t.equal(await db.latencySample.count(), 150, 'and no row of that batch is written, the good one included')
  writer.insert('LatencySample', [good])
  t.equal(await db.latencySample.count(), 151, 'the good row alone is written')
})
