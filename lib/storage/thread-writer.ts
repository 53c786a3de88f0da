// Main-thread side of writer-thread.ts. The worker is shared by every writer
// in the process and started with the first one; each writer has its own
// database handle in it. Idle, the worker does not keep the process alive;
// while a write is in flight, it does.
import { Worker } from 'node:worker_threads'
import type { Row } from './insert-many.js'
import type { LatencyAggregateRow, WriterOp, WriterResponse } from './writer-protocol.js'

// Under the test runner the sources are TypeScript; built, they are .js.
const workerFile = new URL(import.meta.url.endsWith('.ts') ? './writer-thread.ts' : './writer-thread.js', import.meta.url)

class WorkerHost {
  private readonly worker = new Worker(workerFile)
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>()
  private seq = 0
  private dbSeq = 0
  users = 0

  constructor() {
    this.worker.unref()
    this.worker.on('message', (msg: WriterResponse) => {
      const p = this.pending.get(msg.id)
      if (!p) return
      this.pending.delete(msg.id)
      if (this.pending.size === 0) this.worker.unref()
      if (msg.ok) p.resolve()
      else p.reject(new Error(msg.error))
    })
    this.worker.on('error', (err) => {
      for (const p of this.pending.values()) p.reject(err)
      this.pending.clear()
    })
  }

  nextDb(): number {
    return ++this.dbSeq
  }

  send(db: number, op: WriterOp): Promise<void> {
    const id = ++this.seq
    return new Promise<void>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref()
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ ...op, id, db })
    })
  }

}

let host: WorkerHost | undefined

export class ThreadWriter {
  private readonly host: WorkerHost
  private readonly db: number
  private readonly opened: Promise<void>
  private closed = false

  constructor(url: string, schema?: string) {
    host ??= new WorkerHost()
    this.host = host
    this.host.users++
    this.db = this.host.nextDb()
    this.opened = this.host.send(this.db, { op: 'open', url, schema })
  }

  start(): Promise<void> {
    return this.opened
  }

  private send(op: WriterOp): Promise<void> {
    if (this.closed) return Promise.reject(new Error('writer closed'))
    return this.host.send(this.db, op)
  }

  insert(table: string, rows: Row[]): Promise<void> {
    return rows.length ? this.send({ op: 'insert', table, rows }) : Promise.resolve()
  }

  upsertLatencyAggregates(rows: LatencyAggregateRow[]): Promise<void> {
    return rows.length ? this.send({ op: 'upsertLatencyAggregates', rows }) : Promise.resolve()
  }

  deleteLatencySamplesBefore(before: Date): Promise<void> {
    return this.send({ op: 'deleteLatencySamplesBefore', before: before.toISOString() })
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.send({ op: 'close' }).catch(() => undefined)
    this.closed = true
    // The worker stays for the next writer of this process (starting one
    // costs a module load); idle and unref'd, it does not hold the process.
    this.host.users--
  }
}
