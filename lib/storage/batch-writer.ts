// Buffers records in memory and writes them in batches, off the request path.
// A failed write keeps its records for the next flush; the buffer is bounded,
// and what had to be dropped is counted rather than hidden.

export interface BatchWriterOptions<T> {
  write(items: T[]): Promise<void>
  /** Flush when this many records are waiting (default 500). */
  maxBatch?: number
  /** Records kept while the database is unavailable (default 100k). */
  maxBuffered?: number
  onError?(err: unknown, count: number): void
}

export class BatchWriter<T> {
  private buffer: T[] = []
  private flushing: Promise<void> | undefined
  dropped = 0
  written = 0

  constructor(private readonly options: BatchWriterOptions<T>) {}

  get pending(): number {
    return this.buffer.length
  }

  push(item: T): void {
    this.buffer.push(item)
    const max = this.options.maxBuffered ?? 100_000
    if (this.buffer.length > max) {
      this.buffer.splice(0, this.buffer.length - max)
      this.dropped++
    }
    if (this.buffer.length >= (this.options.maxBatch ?? 500)) void this.flush()
  }

  /** Writes everything buffered; concurrent calls share one write. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.buffer.length ? this.flush() : undefined))
    if (this.buffer.length === 0) return Promise.resolve()
    const batch = this.buffer
    this.buffer = []
    this.flushing = this.options
      .write(batch)
      .then(() => {
        this.written += batch.length
      })
      .catch((err) => {
        this.buffer = batch.concat(this.buffer)
        this.options.onError?.(err, batch.length)
      })
      .finally(() => {
        this.flushing = undefined
      })
    return this.flushing
  }
}
