// Usage writes never jam (issue 9, point 4): a batch written again after a
// failure neither loses nor duplicates rows; a row the database refuses is
// cornered and dropped without holding up the others; a database that is
// down loses nothing.
import { test } from 'tap'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { createDb, postgresSchema, type Db, type DbProvider } from '../../lib/storage/client.js'
import { migrate } from '../../lib/storage/migrate.js'
import { insertMany, type Row } from '../../lib/storage/insert-many.js'
import { BatchWriter } from '../../lib/storage/batch-writer.js'
import { tempPostgresUrl, tempSqliteUrl } from '../helpers/app.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

function usageRow(i: number, extra: Partial<Row> = {}): Row {
  return {
    id: `u${i}`, requestId: `r${i}`, keyId: null, tenant: null, model: 'm', deploymentId: 'd', provider: 'p', stream: false, status: 200,
    promptTokens: i, completionTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, costUsd: i / 1e6, attempts: 1,
    error: null, createdAt: new Date(1_700_000_000_000 + i), usageSource: 'upstream', ...extra,
  }
}

interface Tap {
  teardown(fn: () => unknown): void
  skip(msg: string): void
}

async function database(t: Tap, kind: DbProvider): Promise<{ db: Db; provider: DbProvider; schema?: string } | undefined> {
  const url = kind === 'sqlite' ? tempSqliteUrl(t) : tempPostgresUrl(t)
  if (!url) {
    t.skip('TEST_DATABASE_URL is not set: Postgres is not tested')
    return undefined
  }
  const { db, provider } = await createDb(url)
  t.teardown(() => db.$disconnect())
  await migrate(db, provider, root, postgresSchema(url))
  return { db, provider, schema: postgresSchema(url) }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`a write that fails once mid-batch loses and duplicates nothing (${kind})`, async (t) => {
    const d = await database(t, kind)
    if (!d) return
    const { db, provider, schema } = d
    let calls = 0
    const errors: number[] = []
    const writer = new BatchWriter<Row>({
      maxBatch: 10_000,
      write: async (rows) => {
        calls++
        if (calls === 1) {
          // Part of the batch reaches the database, then the connection is lost.
          await insertMany(db, provider, 'UsageRecord', rows.slice(0, 250), schema)
          throw new Error('connection lost')
        }
        await insertMany(db, provider, 'UsageRecord', rows, schema)
      },
      onError: (_err, count) => errors.push(count),
    })
    for (let i = 0; i < 600; i++) writer.push(usageRow(i))
    await writer.flush()
    t.same(errors, [600], 'the failure was reported')
    t.equal(writer.pending, 600, 'and the batch kept')
    t.equal(await db.usageRecord.count(), 250, 'part of it was stored')
    await writer.flush()
    t.equal(writer.pending, 0)
    t.equal(await db.usageRecord.count(), 600, 'nothing lost')
    const ids = (await db.usageRecord.findMany({ select: { id: true } })).map((r) => r.id)
    t.equal(new Set(ids).size, 600, 'nothing duplicated')
    t.equal(writer.written, 600)
  })

  test(`a batch is all or nothing (${kind})`, async (t) => {
    const d = await database(t, kind)
    if (!d) return
    // 300 rows = 3 statements; the refused row is in the third.
    const rows = Array.from({ length: 300 }, (_, i) => usageRow(i, i === 250 ? { model: null } : {}))
    await t.rejects(insertMany(d.db, d.provider, 'UsageRecord', rows, d.schema))
    t.equal(await d.db.usageRecord.count(), 0, 'the first statements were rolled back')
  })
}

test('a row the database refuses is cornered and dropped; the rows around it and every later row are written', async (t) => {
  const d = await database(t, 'sqlite')
  if (!d) return
  const drops: Array<[number, string]> = []
  const writer = new BatchWriter<Row>({
    maxBatch: 10_000,
    maxFailures: 3,
    write: (rows) => insertMany(d.db, d.provider, 'UsageRecord', rows),
    onDrop: (count, reason) => drops.push([count, reason]),
  })
  for (let i = 0; i < 300; i++) writer.push(usageRow(i, i === 137 ? { model: null } : {}))
  await writer.flush()
  t.equal(await d.db.usageRecord.count(), 0, 'the batch with the bad row failed')
  let next = 300
  for (let round = 0; round < 40 && writer.pending > 0; round++) {
    // Traffic goes on: new rows are never held up by the failing batch.
    writer.push(usageRow(next++))
    const before = await d.db.usageRecord.count()
    await writer.flush()
    t.ok((await d.db.usageRecord.count()) > before, `round ${round}: the new row was written`)
  }
  t.equal(writer.pending, 0, 'nothing left waiting')
  t.same(drops, [[1, 'failed']], 'exactly one row given up, reported with its count')
  t.equal(await d.db.usageRecord.count(), next - 1, 'every other row was written')
  t.equal(await d.db.usageRecord.count({ where: { id: 'u137' } }), 0)
})

test('while the database is down nothing is split, counted against rows or dropped; it all goes in once it is back', async (t) => {
  let down = true
  const stored: Row[] = []
  const drops: number[] = []
  const writer = new BatchWriter<Row>({
    maxBatch: 10_000,
    maxFailures: 2,
    maxRetriesPerFlush: 4,
    write: async (rows) => {
      if (down) throw new Error('ECONNREFUSED')
      stored.push(...rows)
    },
    onDrop: (n) => drops.push(n),
  })
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 50; i++) writer.push(usageRow(round * 50 + i))
    await writer.flush()
  }
  t.equal(writer.pending, 1000)
  t.same(drops, [])
  down = false
  writer.push(usageRow(5000))
  await writer.flush()
  t.equal(writer.pending, 0, 'one flush writes the new rows and every waiting batch')
  t.equal(stored.length, 1001)
  t.equal(new Set(stored.map((r) => r.id)).size, 1001)
})

test('the buffer is bounded: the oldest rows go first, counted and reported', async (t) => {
  const drops: Array<[number, string]> = []
  const writer = new BatchWriter<Row>({ maxBatch: 10_000, maxBuffered: 100, write: async () => { throw new Error('down') }, onDrop: (n, reason) => drops.push([n, reason]) })
  for (let i = 0; i < 100; i++) writer.push(usageRow(i))
  await writer.flush()
  for (let i = 100; i < 110; i++) writer.push(usageRow(i))
  t.equal(writer.pending, 100)
  t.equal(writer.dropped, 10)
  t.same(drops, Array.from({ length: 10 }, () => [1, 'overflow']))
})
