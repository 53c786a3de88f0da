// Worker thread that owns a second database client and performs the batched
// writes of usage records and latency statistics, so that neither SQLite's
// synchronous I/O nor Prisma's query work ever runs on the request thread.
import { parentPort, workerData } from 'node:worker_threads'
import { createDb } from './client.js'
import { insertMany, type Row } from './insert-many.js'

export type WriterRequest =
  | { id: number; op: 'insert'; table: string; rows: Row[] }
  | { id: number; op: 'upsertLatencyAggregates'; rows: LatencyAggregateRow[] }
  | { id: number; op: 'deleteOlderThan'; table: 'LatencySample'; before: string }

export interface LatencyAggregateRow {
  deploymentId: string
  count: number
  errors: number
  emaMs: number | null
  emaTtftMs: number | null
  meanCompletionTokens: number | null
  lastSampleAt: string | null
}

export type WriterResponse = { id: number; ok: true } | { id: number; ok: false; error: string }

const { url, schema } = workerData as { url: string; schema?: string }
const { db, provider } = await createDb(url)

parentPort!.on('message', async (msg: WriterRequest | { op: 'close' }) => {
  if (msg.op === 'close') {
    await db.$disconnect()
    parentPort!.postMessage({ closed: true })
    return
  }
  try {
    if (msg.op === 'insert') {
      await insertMany(db, provider, msg.table, msg.rows, schema)
    } else if (msg.op === 'upsertLatencyAggregates') {
      for (const r of msg.rows) {
        const data = { ...r, lastSampleAt: r.lastSampleAt ? new Date(r.lastSampleAt) : null }
        await db.latencyAggregate.upsert({ where: { deploymentId: r.deploymentId }, create: data, update: data })
      }
    } else if (msg.op === 'deleteOlderThan') {
      await db.latencySample.deleteMany({ where: { createdAt: { lt: new Date(msg.before) } } })
    }
    parentPort!.postMessage({ id: msg.id, ok: true } satisfies WriterResponse)
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, ok: false, error: (err as Error).message } satisfies WriterResponse)
  }
})
parentPort!.postMessage({ ready: true })
