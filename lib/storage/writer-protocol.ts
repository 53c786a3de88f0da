// The messages between the request thread (thread-writer.ts) and the writer
// thread (writer-thread.ts), and the rows they carry.
import type { Row } from './insert-many.js'

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
