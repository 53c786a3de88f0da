// Worker thread that owns database clients of its own and performs the
// batched writes of usage records and latency statistics, so that neither
// SQLite's synchronous I/O nor Prisma's query work runs on the request
// thread. One worker serves every gateway in the process (tests build many),
// with one client per database.
import { parentPort } from 'node:worker_threads'
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { createDb, providerOf, sqlitePath, type Db, type DbProvider } from './client.js'
import { insertMany, type Row } from './insert-many.js'
import { SqliteWriter } from './sqlite-writer.js'
import type { LatencyAggregateRow, WriterRequest, WriterResponse } from './writer-protocol.js'


// Lowest CPU priority for this thread only (Linux accepts a thread id in
// setpriority): when it shares a core with the request thread, the scheduler
// lets requests preempt the batch writes instead of making them wait for them.
// Lowered once the first database is open: starting (module loads, the first
// connection) at the lowest priority can take seconds on a busy machine, and
// the app waits for it.
let lowered = false
function lowerPriority(): void {
  if (lowered) return
  lowered = true
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19)
  } catch {
    // Not Linux, or not permitted: the writes still happen, at normal priority.
  }
}

/** What the thread does with a database; one implementation per kind. */
interface Store {
  insert(table: string, rows: Row[]): void | Promise<void>
  upsertLatencyAggregates(rows: LatencyAggregateRow[]): void | Promise<void>
  deleteLatencySamplesBefore(before: string): void | Promise<void>
  close(): void | Promise<void>
}

/** Postgres: a Prisma client with the pg adapter. (SQLite: better-sqlite3 directly, sqlite-writer.ts.) */
class PrismaStore implements Store {
  constructor(private readonly db: Db, private readonly provider: DbProvider, private readonly schema: string | undefined) {}

  insert(table: string, rows: Row[]): Promise<void> {
    return insertMany(this.db, this.provider, table, rows, this.schema)
  }

  async upsertLatencyAggregates(rows: LatencyAggregateRow[]): Promise<void> {
    for (const r of rows) {
      const data = { ...r, lastSampleAt: r.lastSampleAt ? new Date(r.lastSampleAt) : null }
      await this.db.latencyAggregate.upsert({ where: { deploymentId: r.deploymentId }, create: data, update: data })
    }
  }

  async deleteLatencySamplesBefore(before: string): Promise<void> {
    await this.db.latencySample.deleteMany({ where: { createdAt: { lt: new Date(before) } } })
  }

  close(): Promise<void> {
    return this.db.$disconnect()
  }
}

async function open(url: string, schema: string | undefined): Promise<Store> {
  if (providerOf(url) === 'sqlite') return new SqliteWriter(sqlitePath(url))
  const { db, provider } = await createDb(url)
  return new PrismaStore(db, provider, schema)
}

const stores = new Map<number, Promise<Store>>()

async function handle(msg: WriterRequest): Promise<void> {
  if (msg.op === 'open') {
    const opened = open(msg.url, msg.schema)
    stores.set(msg.db, opened)
    await opened
    lowerPriority()
    return
  }
  const opened = stores.get(msg.db)
  if (!opened) throw new Error(`database handle ${msg.db} is not open`)
  const store = await opened
  switch (msg.op) {
    case 'close':
      stores.delete(msg.db)
      return store.close()
    case 'insert':
      return store.insert(msg.table, msg.rows)
    case 'upsertLatencyAggregates':
      return store.upsertLatencyAggregates(msg.rows)
    case 'deleteLatencySamplesBefore':
      return store.deleteLatencySamplesBefore(msg.before)
  }
}

parentPort!.on('message', (msg: WriterRequest) => {
  handle(msg).then(
    () => parentPort!.postMessage({ id: msg.id, ok: true } satisfies WriterResponse),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, ok: false, error: (err as Error).message } satisfies WriterResponse),
  )
})
