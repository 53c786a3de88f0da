// Per-deployment latency and error statistics, in memory.
//
// record() is called once per upstream attempt. For each deployment it keeps:
//  - count and errors (cumulative, seeded from the database by load());
//  - EMA of totalMs over successful attempts, EMA of ttftMs over successful
//    streams, EMA of completion tokens (the "mean" the cost strategy uses);
//  - bounded windows (ring buffers) of totalMs, ttftMs and ok/error flags for
//    percentiles and error rate over a time window (snapshot()).
// get() is the view RoutingSignals.latency() returns.
//
// Persistence is the caller's job: drain() hands over the samples recorded
// since the previous drain (raw rows), aggregates() what to upsert per
// deployment, load() seeds the counters and EMAs at start-up. The pending
// buffer is bounded (drop-oldest, counted in `dropped`) so memory stays flat
// while the database is unreachable, and so is the number of deployments
// tracked (least recently used forgotten first).

import type { LatencyView } from '../strategies/types.js'
import { ALPHA, Ema } from './ema.js'
import { DEFAULT_WINDOW_CAPACITY, SampleWindow } from './window.js'

/** Samples kept for drain() before the oldest are dropped. */
export const DEFAULT_MAX_PENDING = 10_000
/** Deployments tracked at most; past it the least recently used one is forgotten. */
export const DEFAULT_MAX_DEPLOYMENTS = 10_000

export interface LatencySample {
  deploymentId: string
  /** Public model name. */
  model: string
  ok: boolean
  /** HTTP status of the upstream response (0 when none, e.g. network error). */
  status: number
  totalMs: number
  /** Time to first token, streams only. */
  ttftMs?: number
  stream: boolean
  promptTokens?: number
  completionTokens?: number
  /** Epoch ms when the attempt finished. */
  at: number
}

export interface PercentileSet {
  p50?: number
  p95?: number
  p99?: number
}

export interface DeploymentSnapshot {
  deploymentId: string
  model: string
  /** Attempts within the window. */
  count: number
  /** Errors within the window. */
  errors: number
  /** errors / count within the window; 0 when count is 0. */
  errorRate: number
  emaMs?: number
  emaTtftMs?: number
  /** Successful attempts' total time within the window. */
  total: PercentileSet
  /** Successful streams' time to first token within the window. */
  ttft: PercentileSet
  lastSampleAt?: number
}

export interface SnapshotOptions {
  model?: string
  windowMs: number
  now: number
}

/** What is persisted per deployment, and loaded back at start-up. */
export interface DeploymentAggregate {
  deploymentId: string
  model?: string
  count: number
  errors: number
  emaMs?: number
  emaTtftMs?: number
  meanCompletionTokens?: number
  /** Epoch ms. */
  lastSampleAt?: number
}

export interface LatencyTrackerOptions {
  /** EMA smoothing factor, default ALPHA (0.2). */
  alpha?: number
  /** Samples per deployment per window, default 1000. */
  windowCapacity?: number
  /** Pending samples kept for drain(), default 10k. */
  maxPending?: number
  /** Deployments tracked at most (least recently used evicted), default 10k. */
  maxDeployments?: number
}

interface DeploymentState {
  model: string
  count: number
  errors: number
  ema: Ema
  ttft: Ema
  completion: Ema
  lastSampleAt?: number
  totalWin: SampleWindow
  ttftWin: SampleWindow
  /** 1 = error, 0 = ok: the sum over the window is the error count. */
  errWin: SampleWindow
}

const PS = [50, 95, 99] as const

function toSet(v: number[] | undefined): PercentileSet {
  return v ? { p50: v[0], p95: v[1], p99: v[2] } : {}
}

export class LatencyTracker {
  private readonly alpha: number
  private readonly windowCapacity: number
  private readonly maxPending: number
  private readonly maxDeployments: number
  // Insertion order is recency order: a deployment is moved to the end when it records.
  private readonly states = new Map<string, DeploymentState>()
  // Pending samples: ring buffer, oldest at `head`.
  private pending: Array<LatencySample | undefined>
  private head = 0
  private size = 0
  private droppedCount = 0

  constructor(options: LatencyTrackerOptions = {}) {
    this.alpha = options.alpha ?? ALPHA
    this.windowCapacity = options.windowCapacity ?? DEFAULT_WINDOW_CAPACITY
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING
    this.maxDeployments = options.maxDeployments ?? DEFAULT_MAX_DEPLOYMENTS
    if (!Number.isInteger(this.maxPending) || this.maxPending < 1) {
      throw new RangeError(`maxPending must be a positive integer, got ${this.maxPending}`)
    }
    if (!Number.isInteger(this.maxDeployments) || this.maxDeployments < 1) {
      throw new RangeError(`maxDeployments must be a positive integer, got ${this.maxDeployments}`)
    }
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${this.alpha}`)
    this.pending = new Array(this.maxPending)
  }

  private state(id: string, model: string): DeploymentState {
    let s = this.states.get(id)
    if (s) {
      // Most recently used last.
      this.states.delete(id)
      this.states.set(id, s)
    } else {
      if (this.states.size >= this.maxDeployments) this.states.delete(this.states.keys().next().value!)
      s = {
        model,
        count: 0,
        errors: 0,
        ema: new Ema(this.alpha),
        ttft: new Ema(this.alpha),
        completion: new Ema(this.alpha),
        totalWin: new SampleWindow(this.windowCapacity),
        ttftWin: new SampleWindow(this.windowCapacity),
        errWin: new SampleWindow(this.windowCapacity),
      }
      this.states.set(id, s)
    }
    return s
  }

  record(sample: LatencySample): void {
    const s = this.state(sample.deploymentId, sample.model)
    if (sample.model) s.model = sample.model
    s.count++
    if (!sample.ok) s.errors++
    s.lastSampleAt = s.lastSampleAt === undefined ? sample.at : Math.max(s.lastSampleAt, sample.at)
    s.errWin.push(sample.at, sample.ok ? 0 : 1)
    if (sample.ok) {
      if (Number.isFinite(sample.totalMs) && sample.totalMs >= 0) {
        s.ema.update(sample.totalMs)
        s.totalWin.push(sample.at, sample.totalMs)
      }
      if (sample.stream && sample.ttftMs !== undefined && Number.isFinite(sample.ttftMs) && sample.ttftMs >= 0) {
        s.ttft.update(sample.ttftMs)
        s.ttftWin.push(sample.at, sample.ttftMs)
      }
      if (sample.completionTokens !== undefined && sample.completionTokens >= 0) {
        s.completion.update(sample.completionTokens)
      }
    }
    this.enqueue(sample)
  }

  private enqueue(sample: LatencySample): void {
    if (this.size === this.maxPending) {
      this.pending[this.head] = sample // overwrite the oldest
      this.head = (this.head + 1) % this.maxPending
      this.droppedCount++
      return
    }
    this.pending[(this.head + this.size) % this.maxPending] = sample
    this.size++
  }

  /** The view RoutingSignals.latency() returns; undefined for an unknown deployment. */
  get(deploymentId: string): LatencyView | undefined {
    const s = this.states.get(deploymentId)
    if (!s) return undefined
    return {
      emaMs: s.ema.value,
      emaTtftMs: s.ttft.value,
      samples: s.count,
      meanCompletionTokens: s.completion.value,
    }
  }

  /** Per deployment statistics over [now - windowMs, ...], sorted by model then id. */
  snapshot(options: SnapshotOptions): DeploymentSnapshot[] {
    const since = options.now - options.windowMs
    const out: DeploymentSnapshot[] = []
    for (const [id, s] of this.states) {
      if (options.model !== undefined && s.model !== options.model) continue
      const count = s.errWin.count(since)
      const errors = s.errWin.sum(since)
      out.push({
        deploymentId: id,
        model: s.model,
        count,
        errors,
        errorRate: count > 0 ? errors / count : 0,
        emaMs: s.ema.value,
        emaTtftMs: s.ttft.value,
        total: toSet(s.totalWin.percentiles(since, PS)),
        ttft: toSet(s.ttftWin.percentiles(since, PS)),
        lastSampleAt: s.lastSampleAt,
      })
    }
    return out.sort((a, b) =>
      a.model !== b.model ? (a.model < b.model ? -1 : 1) : a.deploymentId < b.deploymentId ? -1 : a.deploymentId > b.deploymentId ? 1 : 0,
    )
  }

  /** Returns the samples recorded since the previous drain, oldest first, and forgets them. */
  drain(): LatencySample[] {
    const out: LatencySample[] = new Array(this.size)
    for (let i = 0; i < this.size; i++) {
      const idx = (this.head + i) % this.maxPending
      out[i] = this.pending[idx]!
      this.pending[idx] = undefined
    }
    this.head = 0
    this.size = 0
    return out
  }

  /** Samples waiting for drain(). */
  get pendingCount(): number {
    return this.size
  }

  /** Samples dropped from the pending buffer because it was full (cumulative). */
  get dropped(): number {
    return this.droppedCount
  }

  /**
   * Seeds counters and EMAs from persisted aggregates (start-up). A deployment
   * that already has live samples keeps its live state: it is newer.
   */
  load(aggregates: Iterable<DeploymentAggregate>): void {
    // Oldest first, so that past maxDeployments the most recent ones are kept.
    const byAge = [...aggregates].sort((a, b) => (a.lastSampleAt ?? 0) - (b.lastSampleAt ?? 0))
    for (const a of byAge) {
      if (this.states.has(a.deploymentId)) continue
      const s = this.state(a.deploymentId, a.model ?? '')
      s.count = Number.isFinite(a.count) ? Math.max(0, Math.floor(a.count)) : 0
      s.errors = Number.isFinite(a.errors) ? Math.min(s.count, Math.max(0, Math.floor(a.errors))) : 0
      s.ema = new Ema(this.alpha, a.emaMs)
      s.ttft = new Ema(this.alpha, a.emaTtftMs)
      s.completion = new Ema(this.alpha, a.meanCompletionTokens)
      s.lastSampleAt = a.lastSampleAt
    }
  }

  /** What to persist per deployment. */
  aggregates(): DeploymentAggregate[] {
    const out: DeploymentAggregate[] = []
    for (const [id, s] of this.states) {
      out.push({
        deploymentId: id,
        model: s.model,
        count: s.count,
        errors: s.errors,
        emaMs: s.ema.value,
        emaTtftMs: s.ttft.value,
        meanCompletionTokens: s.completion.value,
        lastSampleAt: s.lastSampleAt,
      })
    }
    return out
  }

  /** Deployments tracked now (at most maxDeployments). */
  get trackedCount(): number {
    return this.states.size
  }

  /** Forgets a deployment (e.g. removed from the configuration). */
  delete(deploymentId: string): boolean {
    return this.states.delete(deploymentId)
  }
}
