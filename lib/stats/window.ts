// Bounded sliding-window sample stores for percentiles.
//
// SampleWindow is a ring buffer of (timestampMs, value): inserts are O(1) and
// overwrite the oldest sample once `capacity` is reached, so memory is fixed.
// Queries scan the buffer (O(capacity), plus a sort of the selected values for
// percentiles) and keep the samples whose timestamp is >= sinceMs; the window
// is therefore "the last `capacity` samples, no older than sinceMs".
// Timestamps need not be monotonic.
//
// Percentiles use the nearest-rank method on the sorted values:
// rank = ceil(p / 100 * N) (at least 1), result = sorted[rank - 1].

/** Samples kept per key (deployment) by default. */
export const DEFAULT_WINDOW_CAPACITY = 1000

export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('no samples')
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]
}

export class SampleWindow {
  readonly capacity: number
  private readonly ts: Float64Array
  private readonly vals: Float64Array
  private next = 0
  private size = 0

  constructor(capacity: number = DEFAULT_WINDOW_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`)
    this.capacity = capacity
    this.ts = new Float64Array(capacity)
    this.vals = new Float64Array(capacity)
  }

  /** O(1). Non-finite values are ignored. */
  push(timestampMs: number, value: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(timestampMs)) return
    this.ts[this.next] = timestampMs
    this.vals[this.next] = value
    this.next = (this.next + 1) % this.capacity
    if (this.size < this.capacity) this.size++
  }

  /** Samples currently held, regardless of age. */
  get length(): number {
    return this.size
  }

  /** Values with timestamp >= sinceMs, in buffer order. */
  values(sinceMs: number): number[] {
    const out: number[] = []
    for (let i = 0; i < this.size; i++) {
      if (this.ts[i] >= sinceMs) out.push(this.vals[i])
    }
    return out
  }

  count(sinceMs: number): number {
    let n = 0
    for (let i = 0; i < this.size; i++) if (this.ts[i] >= sinceMs) n++
    return n
  }

  /** Sum of the values with timestamp >= sinceMs. */
  sum(sinceMs: number): number {
    let s = 0
    for (let i = 0; i < this.size; i++) if (this.ts[i] >= sinceMs) s += this.vals[i]
    return s
  }

  /**
   * Nearest-rank percentiles of the samples with timestamp >= sinceMs, in the
   * order of `ps`; undefined when the window holds no sample.
   */
  percentiles(sinceMs: number, ps: readonly number[] = [50, 95, 99]): number[] | undefined {
    const v = this.values(sinceMs)
    if (v.length === 0) return undefined
    const sorted = Float64Array.from(v).sort()
    return ps.map((p) => nearestRank(sorted, p))
  }

  clear(): void {
    this.next = 0
    this.size = 0
  }
}

/** Keys a WindowStore keeps by default; past it the least recently pushed is forgotten. */
export const DEFAULT_MAX_WINDOWS = 10_000

/** One SampleWindow per key, created on first push; at most maxKeys of them. */
export class WindowStore {
  // Insertion order is recency order: a key moves to the end when pushed to.
  private readonly windows = new Map<string, SampleWindow>()

  constructor(readonly capacity: number = DEFAULT_WINDOW_CAPACITY, readonly maxKeys: number = DEFAULT_MAX_WINDOWS) {}

  push(key: string, timestampMs: number, value: number): void {
    let w = this.windows.get(key)
    if (w) {
      this.windows.delete(key)
    } else {
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!)
      w = new SampleWindow(this.capacity)
    }
    this.windows.set(key, w)
    w.push(timestampMs, value)
  }

  get(key: string): SampleWindow | undefined {
    return this.windows.get(key)
  }

  count(key: string, sinceMs: number): number {
    return this.windows.get(key)?.count(sinceMs) ?? 0
  }

  percentiles(key: string, sinceMs: number, ps: readonly number[] = [50, 95, 99]): number[] | undefined {
    return this.windows.get(key)?.percentiles(sinceMs, ps)
  }

  keys(): IterableIterator<string> {
    return this.windows.keys()
  }

  delete(key: string): boolean {
    return this.windows.delete(key)
  }
}
