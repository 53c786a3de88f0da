// Gateway-wide traffic over the last 24 hours, in one-minute buckets, for the
// dashboard's overview: request and error counts, tokens, cost, and
// histograms of latency and time to first token.
//
// The histograms are log-linear (each power of two split into SUB_BUCKETS
// equal bins, like HdrHistogram with little precision): a fixed number of
// counters covers 1 ms to over an hour within about 6 % relative error, and
// two histograms merge by adding their counters. So any window (the last
// hour, the last day, 5-minute chart steps) gets its percentiles from the
// same minute buckets. Memory is bounded: at most one bucket per minute of
// the retention, each with two fixed-size histograms allocated on first use.
// No Fastify here; the plugin feeds it.

export const BUCKET_MS = 60_000
export const DEFAULT_RETENTION_MS = 24 * 3600_000
/** Bins per power of two. */
export const SUB_BUCKETS = 8
/** The last power of two with its own bins: 2^22 ms is about 70 minutes; longer values land in the last bin. */
export const MAX_EXPONENT = 22
/** Bin 0 holds [0, 1) ms; then SUB_BUCKETS bins per power of two from 2^0 to 2^MAX_EXPONENT. */
export const HISTOGRAM_BINS = 1 + (MAX_EXPONENT + 1) * SUB_BUCKETS
/** Recent errors kept for the deployments page. */
export const RECENT_ERRORS = 100

/** The histogram bin a duration in ms falls into. */
export function binOf(ms: number): number {
  if (!(ms >= 1)) return 0 // [0, 1) and anything not a number
  const e = Math.min(Math.floor(Math.log2(ms)), MAX_EXPONENT)
  const base = 2 ** e
  const sub = Math.min(SUB_BUCKETS - 1, Math.floor(((ms - base) / base) * SUB_BUCKETS))
  return 1 + e * SUB_BUCKETS + sub
}

/** [lower, upper) of a bin in ms (the last bin's upper bound is where its regular width ends). */
export function binBounds(bin: number): [number, number] {
  if (bin <= 0) return [0, 1]
  const e = Math.floor((bin - 1) / SUB_BUCKETS)
  const sub = (bin - 1) % SUB_BUCKETS
  const base = 2 ** e
  return [base + (sub * base) / SUB_BUCKETS, base + ((sub + 1) * base) / SUB_BUCKETS]
}

/**
 * Nearest-rank percentile of a histogram, reported as the middle of the bin
 * the rank falls into; undefined when the histogram is empty.
 */
export function histogramPercentile(h: ArrayLike<number>, p: number): number | undefined {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${p}`)
  let total = 0
  for (let i = 0; i < h.length; i++) total += h[i]!
  if (total === 0) return undefined
  const rank = Math.max(1, Math.ceil((p / 100) * total))
  let seen = 0
  for (let i = 0; i < h.length; i++) {
    seen += h[i]!
    if (seen >= rank) {
      const [lo, hi] = binBounds(i)
      return (lo + hi) / 2
    }
  }
  return undefined
}

/** How one request ended, as the overview counts it. */
export interface TrafficOutcome {
  /** Epoch ms when the request ended. */
  at: number
  /** HTTP status answered to the client; 0 when none was. */
  status: number
  /** Arrival to outcome. */
  durationMs?: number
  /** Arrival to the first byte of a stream's answer. */
  ttftMs?: number
  costUsd?: number
  promptTokens?: number
  completionTokens?: number
  model?: string
  deploymentId?: string | null
}

/** A failed upstream attempt, for the list of recent errors. */
export interface TrafficError {
  at: number
  deploymentId: string
  model: string
  status: number
  reason: string
}

export interface TrafficPoint {
  /** Epoch ms at the start of the step. */
  t: number
  requests: number
  errors: number
  /** errors / requests; 0 without requests. */
  errorRate: number
  /** Requests per second over the step (over its elapsed part for the current step). */
  rps: number
  p50Ms?: number
  p95Ms?: number
  ttftP50Ms?: number
  ttftP95Ms?: number
  promptTokens: number
  completionTokens: number
  costUsd: number
}

export type TrafficTotals = Omit<TrafficPoint, 't'> & { p99Ms?: number }

export interface TrafficSeries {
  /** Epoch ms: the first step's start and the query time. */
  from: number
  to: number
  stepMs: number
  points: TrafficPoint[]
  totals: TrafficTotals
}

interface Bucket {
  minute: number
  requests: number
  errors: number
  promptTokens: number
  completionTokens: number
  costUsd: number
  latency?: Uint32Array
  ttft?: Uint32Array
}

/** A request counts as an error when the client got no success: 4xx, 5xx or no answer. */
export const isErrorStatus = (status: number) => !(status >= 100 && status < 400)

const finiteNonNegative = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v) && v >= 0

export interface TrafficStatsOptions {
  /** How far back the buckets reach (default 24 h, a whole number of minutes). */
  retentionMs?: number
}

export class TrafficStats {
  readonly retentionMs: number
  private readonly buckets: Array<Bucket | undefined>
  private newestMinute = -Infinity
  private readonly errors: TrafficError[] = []

  constructor(options: TrafficStatsOptions = {}) {
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS
    if (!(this.retentionMs >= BUCKET_MS) || this.retentionMs % BUCKET_MS !== 0) {
      throw new RangeError(`retentionMs must be a positive multiple of ${BUCKET_MS}, got ${this.retentionMs}`)
    }
    this.buckets = new Array(this.retentionMs / BUCKET_MS)
  }

  /** Counts one request. Outcomes older than the retention are ignored. */
  record(o: TrafficOutcome): void {
    const bucket = this.bucketFor(o.at)
    if (!bucket) return
    bucket.requests++
    const failed = isErrorStatus(o.status)
    if (failed) bucket.errors++
    if (finiteNonNegative(o.promptTokens)) bucket.promptTokens += o.promptTokens
    if (finiteNonNegative(o.completionTokens)) bucket.completionTokens += o.completionTokens
    if (finiteNonNegative(o.costUsd)) bucket.costUsd += o.costUsd
    // Latency of failures would mostly measure how fast things fail.
    if (!failed && finiteNonNegative(o.durationMs)) (bucket.latency ??= new Uint32Array(HISTOGRAM_BINS))[binOf(o.durationMs)]++
    if (!failed && finiteNonNegative(o.ttftMs)) (bucket.ttft ??= new Uint32Array(HISTOGRAM_BINS))[binOf(o.ttftMs)]++
  }

  /** Remembers a failed upstream attempt (newest first, at most RECENT_ERRORS). */
  noteError(e: TrafficError): void {
    this.errors.unshift(e)
    if (this.errors.length > RECENT_ERRORS) this.errors.length = RECENT_ERRORS
  }

  recentErrors(limit = RECENT_ERRORS): TrafficError[] {
    return this.errors.slice(0, Math.max(0, limit))
  }

  private bucketFor(at: number): Bucket | undefined {
    if (!Number.isFinite(at)) return undefined
    const minute = Math.floor(at / BUCKET_MS)
    const slots = this.buckets.length
    if (minute <= this.newestMinute - slots) return undefined
    this.newestMinute = Math.max(this.newestMinute, minute)
    const i = ((minute % slots) + slots) % slots
    let b = this.buckets[i]
    if (!b || b.minute !== minute) {
      b = { minute, requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 }
      this.buckets[i] = b
    }
    return b
  }

  private bucketAt(minute: number): Bucket | undefined {
    const slots = this.buckets.length
    const b = this.buckets[((minute % slots) + slots) % slots]
    return b && b.minute === minute ? b : undefined
  }

  /**
   * The steps of `stepMs` that end with the one holding `now`, covering
   * `windowMs`, each with its counts and percentiles; and the same over the
   * whole window.
   */
  series(q: { now: number; windowMs: number; stepMs: number }): TrafficSeries {
    const { now, windowMs, stepMs } = q
    if (!(stepMs >= BUCKET_MS) || stepMs % BUCKET_MS !== 0) throw new RangeError(`stepMs must be a positive multiple of ${BUCKET_MS}`)
    if (!(windowMs >= stepMs) || windowMs % stepMs !== 0) throw new RangeError('windowMs must be a positive multiple of stepMs')
    if (windowMs > this.retentionMs) throw new RangeError(`windowMs must be at most the retention (${this.retentionMs} ms)`)
    const stepMinutes = stepMs / BUCKET_MS
    const steps = windowMs / stepMs
    const lastStart = Math.floor(Math.floor(now / BUCKET_MS) / stepMinutes) * stepMinutes
    const firstStart = lastStart - (steps - 1) * stepMinutes

    const all = new Acc()
    const points: TrafficPoint[] = []
    for (let s = 0; s < steps; s++) {
      const start = firstStart + s * stepMinutes
      const acc = new Acc()
      for (let m = start; m < start + stepMinutes; m++) {
        const b = this.bucketAt(m)
        if (b) {
          acc.add(b)
          all.add(b)
        }
      }
      const startMs = start * BUCKET_MS
      const seconds = Math.max(1, Math.min(stepMs, now - startMs) / 1000)
      points.push({ t: startMs, ...acc.view(seconds) })
    }
    const from = firstStart * BUCKET_MS
    const totals = all.view(Math.max(1, (now - from) / 1000))
    return { from, to: now, stepMs, points, totals: { ...totals, p99Ms: all.percentile('latency', 99) } }
  }
}

/** Sums buckets; histograms merge by adding counters. */
class Acc {
  requests = 0
  errors = 0
  promptTokens = 0
  completionTokens = 0
  costUsd = 0
  latency?: Uint32Array
  ttft?: Uint32Array

  add(b: Bucket): void {
    this.requests += b.requests
    this.errors += b.errors
    this.promptTokens += b.promptTokens
    this.completionTokens += b.completionTokens
    this.costUsd += b.costUsd
    if (b.latency) this.latency = merge(this.latency, b.latency)
    if (b.ttft) this.ttft = merge(this.ttft, b.ttft)
  }

  percentile(which: 'latency' | 'ttft', p: number): number | undefined {
    const h = this[which]
    return h ? histogramPercentile(h, p) : undefined
  }

  view(seconds: number): Omit<TrafficPoint, 't'> {
    return {
      requests: this.requests,
      errors: this.errors,
      errorRate: this.requests ? this.errors / this.requests : 0,
      rps: this.requests / seconds,
      p50Ms: this.percentile('latency', 50),
      p95Ms: this.percentile('latency', 95),
      ttftP50Ms: this.percentile('ttft', 50),
      ttftP95Ms: this.percentile('ttft', 95),
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      // Float sums, rounded like the recorded costs.
      costUsd: Math.round(this.costUsd * 1e10) / 1e10,
    }
  }
}

function merge(into: Uint32Array | undefined, from: Uint32Array): Uint32Array {
  const out = into ?? new Uint32Array(from.length)
  for (let i = 0; i < from.length; i++) out[i] += from[i]
  return out
}
