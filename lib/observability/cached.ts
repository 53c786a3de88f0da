// A value loaded in the background and read synchronously: a scrape reads the
// last loaded value and, when it is older than maxAgeMs, starts one reload it
// does not wait for. A scrape never queries the database itself, and many
// scrapes at once start at most one load.

export interface CachedValueOptions<T> {
  load(): Promise<T>
  /** Age after which a read starts a reload (default 15 s: a typical scrape interval). */
  maxAgeMs?: number
  onError?(err: unknown): void
  now?(): number
}

export class CachedValue<T> {
  private value: T | undefined
  private loadedAt = -Infinity
  private loading: Promise<void> | undefined

  constructor(private readonly options: CachedValueOptions<T>) {}

  /** The last loaded value (undefined before the first load ends). */
  get(): T | undefined {
    const now = this.options.now?.() ?? Date.now()
    if (now - this.loadedAt >= (this.options.maxAgeMs ?? 15_000)) void this.refresh()
    return this.value
  }

  /** Loads now (shared with a load in progress). */
  refresh(): Promise<void> {
    this.loading ??= this.options
      .load()
      .then((v) => {
        this.value = v
        this.loadedAt = this.options.now?.() ?? Date.now()
      })
      .catch((err) => this.options.onError?.(err))
      .finally(() => {
        this.loading = undefined
      })
    return this.loading
  }
}
