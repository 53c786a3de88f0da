// Main-thread side of writer-thread.ts: sends batches, awaits each write.
import { Worker } from 'node:worker_threads'
import type { Row } from './insert-many.js'
import type { LatencyAggregateRow, WriterRequest, WriterResponse } from './writer-thread.js'

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never
type Pending = { resolve: () => void; reject: (err: Error) => void }

// Under the test runner the sources are TypeScript; built, they are .js.
const workerFile = new URL(import.meta.url.endsWith('.ts') ? './writer-thread.ts' : './writer-thread.js', import.meta.url)

export class ThreadWriter {
  private readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  private seq = 0
  private readonly ready: Promise<void>
  private closed = false

  constructor(url: string, schema?: string) {
    this.worker = new Worker(workerFile, { workerData: { url, schema } })
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (msg: { ready?: boolean }) => {
        if (msg.ready) {
          this.worker.off('error', reject)
          resolve()
        }
      }
      this.worker.on('message', onMessage)
      this.worker.once('error', reject)
    })
    this.worker.on('message', (msg: WriterResponse) => {
      if (typeof (msg as { id?: unknown }).id !== 'number') return
      const p = this.pending.get(msg.id)
      if (!p) return
      this.pending.delete(msg.id)
      if (msg.ok) p.resolve()
      else p.reject(new Error(msg.error))
    })
    this.worker.on('error', (err) => {
      for (const p of this.pending.values()) p.reject(err)
      this.pending.clear()
    })
    // The worker must not keep the process alive on its own.
    this.worker.unref()
  }

  start(): Promise<void> {
    return this.ready
  }

  private send(req: DistributiveOmit<WriterRequest, 'id'>): Promise<void> {
    if (this.closed) return Promise.reject(new Error('writer closed'))
    const id = ++this.seq
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ ...req, id })
    })
  }

  insert(table: string, rows: Row[]): Promise<void> {
    return rows.length ? this.send({ op: 'insert', table, rows }) : Promise.resolve()
  }

  upsertLatencyAggregates(rows: LatencyAggregateRow[]): Promise<void> {
    return rows.length ? this.send({ op: 'upsertLatencyAggregates', rows }) : Promise.resolve()
  }

  deleteLatencySamplesBefore(before: Date): Promise<void> {
    return this.send({ op: 'deleteOlderThan', table: 'LatencySample', before: before.toISOString() })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 5000)
      this.worker.on('message', (msg: { closed?: boolean }) => {
        if (msg.closed) {
          clearTimeout(timer)
          void this.worker.terminate().then(() => resolve())
        }
      })
      this.worker.postMessage({ op: 'close' })
    })
  }
}
