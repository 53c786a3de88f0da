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

export interface LatencyAggregateRow {
  deploymentId: string
  count: number
  errors: number
  emaMs: number | null
  emaTtftMs: number | null
  meanCompletionTokens: number | null
  lastSampleAt: string | null
}

export type WriterOp =
  | { op: 'open'; url: string; schema?: string }
  | { op: 'close' }
  | { op: 'insert'; table: string; rows: Row[] }
  | { op: 'upsertLatencyAggregates'; rows: LatencyAggregateRow[] }
  | { op: 'deleteLatencySamplesBefore'; before: string }

export type WriterRequest = WriterOp & { id: number; db: number }
export type WriterResponse = { id: number; ok: true } | { id: number; ok: false; error: string }

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

// SQLite: better-sqlite3 directly (sqlite-writer.ts), no Prisma client in
// this thread. Postgres: a Prisma client with the pg adapter.
type Handle = { kind: 'sqlite'; writer: SqliteWriter } | { kind: 'prisma'; db: Db; provider: DbProvider; schema?: string }

const clients = new Map<number, Promise<Handle>>()

async function open(url: string, schema: string | undefined): Promise<Handle> {
  if (providerOf(url) === 'sqlite') return { kind: 'sqlite', writer: new SqliteWriter(sqlitePath(url)) }
  const { db, provider } = await createDb(url)
  return { kind: 'prisma', db, provider, schema }
}

function handleSqlite(writer: SqliteWriter, msg: Exclude<WriterRequest, { op: 'open' }>, dbId: number): void {
  switch (msg.op) {
    case 'close':
      clients.delete(dbId)
      writer.close()
      return
    case 'insert':
      writer.insert(msg.table, msg.rows)
      return
    case 'upsertLatencyAggregates':
      writer.upsertLatencyAggregates(msg.rows)
      return
    case 'deleteLatencySamplesBefore':
      writer.deleteLatencySamplesBefore(msg.before)
      return
  }
}

async function handle(msg: WriterRequest): Promise<void> {
  if (msg.op === 'open') {
    const opened = open(msg.url, msg.schema)
    clients.set(msg.db, opened)
    await opened
    lowerPriority()
    return
  }
  const client = clients.get(msg.db)
  if (!client) throw new Error(`database handle ${msg.db} is not open`)
  const handle = await client
  if (handle.kind === 'sqlite') return handleSqlite(handle.writer, msg, msg.db)
  const { db, provider, schema } = handle
  switch (msg.op) {
    case 'close':
      clients.delete(msg.db)
      await db.$disconnect()
      return
    case 'insert':
      await insertMany(db, provider, msg.table, msg.rows, schema)
      return
    case 'upsertLatencyAggregates':
      for (const r of msg.rows) {
        const data = { ...r, lastSampleAt: r.lastSampleAt ? new Date(r.lastSampleAt) : null }
        await db.latencyAggregate.upsert({ where: { deploymentId: r.deploymentId }, create: data, update: data })
      }
      return
    case 'deleteLatencySamplesBefore':
      await db.latencySample.deleteMany({ where: { createdAt: { lt: new Date(msg.before) } } })
      return
  }
}

parentPort!.on('message', (msg: WriterRequest) => {
  handle(msg).then(
    () => parentPort!.postMessage({ id: msg.id, ok: true } satisfies WriterResponse),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, ok: false, error: (err as Error).message } satisfies WriterResponse),
  )
})
