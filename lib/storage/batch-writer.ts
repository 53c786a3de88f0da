// Buffers records in memory and writes them in batches, off the request path.
//
// A failed write never holds up later records: new records are always
// written first, in their own batch, and a batch that failed waits apart.
// Each later flush retries it; when it fails again while another write
// succeeded, it is split in two, so a record the database refuses (a poison
// row) ends up alone within a few flushes while the rest of its batch gets
// written. A record that has failed alone `maxFailures` times is
// dropped and reported (onDrop), but only counted as failing when another
// write of the same flush succeeded: while the database is down every write
// fails, and nothing is given up for that.
//
// Writes must be idempotent (lib/storage/insert-many.ts inserts or ignores on
// the primary key): a batch whose write failed after part of it was stored is
// written again whole. The buffer is bounded; what had to be dropped is
// counted rather than hidden.

export interface BatchWriterOptions<T> {
  write(items: T[]): Promise<void>
  /** Flush when this many records are waiting (default 500). */
  maxBatch?: number
  /** Records kept while the database is unavailable (default 100k). */
  maxBuffered?: number
  /** Failed writes a record may have alone, the database being up, before it is dropped (default 5). */
  maxFailures?: number
  /** Failed retries per flush before the rest wait for the next one (default 16): an outage does not turn into thousands of writes. */
  maxRetriesPerFlush?: number
  onError?(err: unknown, count: number): void
  /** Records given up on: `reason` says why (failed too often, or the buffer was full). */
  onDrop?(count: number, reason: 'failed' | 'overflow', err?: unknown): void
}

interface FailedBatch<T> {
  items: T[]
  /** Failed writes of this record alone (single-record batches only). */
  failures: number
}

export class BatchWriter<T> {
  private buffer: T[] = []
  private failed: Array<FailedBatch<T>> = []
  private flushing: Promise<void> | undefined
  /** Records dropped: buffer overflow, or failing alone maxFailures times. */
  dropped = 0
  written = 0

  constructor(private readonly options: BatchWriterOptions<T>) {}

  /** Records not written yet (new and failed). */
  get pending(): number {
    return this.buffer.length + this.failed.reduce((n, b) => n + b.items.length, 0)
  }

  /** Records waiting in failed batches. */
  get failing(): number {
    return this.failed.reduce((n, b) => n + b.items.length, 0)
  }

  push(item: T): void {
    this.buffer.push(item)
    this.trim()
    if (this.buffer.length >= (this.options.maxBatch ?? 500)) void this.flush()
  }

  /** Drops the oldest records past maxBuffered: failed ones first. */
  private trim(): void {
    let over = this.pending - (this.options.maxBuffered ?? 100_000)
    if (over <= 0) return
    let n = 0
    while (over > 0 && this.failed.length > 0) {
      const oldest = this.failed[0]!
      const k = Math.min(over, oldest.items.length)
      oldest.items.splice(0, k)
      if (oldest.items.length === 0) this.failed.shift()
      over -= k
      n += k
    }
    if (over > 0) {
      this.buffer.splice(0, over)
      n += over
    }
    this.dropped += n
    this.options.onDrop?.(n, 'overflow')
  }

  /** Writes everything buffered, then retries failed batches; concurrent calls share one run. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.buffer.length ? this.flush() : undefined))
    if (this.pending === 0) return Promise.resolve()
    this.flushing = this.run().finally(() => {
      this.flushing = undefined
    })
    return this.flushing
  }

  private async run(): Promise<void> {
    // Set when a write of this run succeeded: the database is up, so a failure is the records' own.
    let healthy = false
    let lastError: unknown

    const fresh = this.buffer
    this.buffer = []
    let freshFailed = false
    if (fresh.length > 0) {
      try {
        await this.options.write(fresh)
        this.written += fresh.length
        healthy = true
      } catch (err) {
        freshFailed = true
        lastError = err
        this.options.onError?.(err, fresh.length)
      }
    }

    // Oldest first; stop after `limit` failures (an outage), never after successes.
    const limit = this.options.maxRetriesPerFlush ?? 16
    const stillFailing: Array<FailedBatch<T>> = []
    const waiting: Array<FailedBatch<T>> = []
    for (const batch of this.failed) {
      if (stillFailing.length >= limit) {
        waiting.push(batch)
        continue
      }
      try {
        await this.options.write(batch.items)
        this.written += batch.items.length
        healthy = true
      } catch (err) {
        lastError = err
        stillFailing.push(batch)
      }
    }

    const next: Array<FailedBatch<T>> = []
    let given = 0
    for (const batch of stillFailing) {
      if (!healthy) {
        // Nothing was written: the database may be down. Keep the batch whole and count nothing against it.
        next.push(batch)
      } else if (batch.items.length > 1) {
        // Split: the healthy half gets written next time, the bad record is cornered.
        const mid = Math.ceil(batch.items.length / 2)
        next.push({ items: batch.items.slice(0, mid), failures: 0 }, { items: batch.items.slice(mid), failures: 0 })
      } else if (batch.failures + 1 >= (this.options.maxFailures ?? 5)) {
        given += 1
      } else {
        next.push({ items: batch.items, failures: batch.failures + 1 })
      }
    }
    if (freshFailed) next.push({ items: fresh, failures: 0 })
    this.failed = [...next, ...waiting]
    if (given > 0) {
      this.dropped += given
      this.options.onDrop?.(given, 'failed', lastError)
    }
    if (stillFailing.length > 0 && !freshFailed) this.options.onError?.(lastError, stillFailing.reduce((n, b) => n + b.items.length, 0))
  }
}
