// Open-loop latency generator. Request i is due at t0 + i/rate whatever
// happened to earlier requests, and its latency is measured from that
// INTENDED send time, so a stalled target (or a late generator) shows up in
// the figures instead of silently lowering the offered load (coordinated
// omission). Requests go through an undici Pool's low-level dispatch, which
// gives exact timestamps for the response head, first body chunk and end.
import { Worker } from 'node:worker_threads'
import { Pool, type Dispatcher } from 'undici'

export interface OpenLoopOptions {
  /** e.g. http://127.0.0.1:1234 */
  origin: string
  /** e.g. /v1/chat/completions */
  path: string
  /** Default POST (with `body`); GET sends no body (a floor measurement against /health). */
  method?: 'GET' | 'POST'
  headers: Record<string, string>
  body: string
  /** Requests per second. */
  rate: number
  /** Measured window, seconds. */
  seconds: number
  /** Unmeasured warm-up at the same rate, seconds. */
  warmupSeconds: number
  /** Pool connections. */
  connections: number
  /** Streaming request: also record time to first body chunk. */
  stream: boolean
  /** Per-request headers/body timeout, ms. */
  timeoutMs: number
  /** Collect this numeric response header (e.g. x-switchyard-overhead-ms). */
  numericHeader?: string
}

export interface Summary {
  count: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

export interface OpenLoopResult {
  rate: number
  seconds: number
  planned: number
  ok: number
  non2xx: number
  errors: number
  statusCounts: Record<string, number>
  errorSamples: string[]
  /** Measured window from the first intended send to the last completion, s. */
  wallSeconds: number
  /** ok / (time from first intended send to last intended send + 1 interval). */
  achievedRate: number
  /** Latency from intended send to the end of the response, ms (2xx only). */
  total: Summary
  /** Latency from intended send to the first body chunk, ms (streaming, 2xx only). */
  ttfb: Summary | null
  /** How late the generator dispatched each request vs its schedule, ms. */
  sendLag: Summary
  /** The numericHeader's values, when asked for and present. */
  header: Summary | null
}

/** Nearest-rank percentiles over the first `n` values (sorts in place). */
export function summarize(values: Float64Array, n: number): Summary {
  if (n === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN }
  const v = values.subarray(0, n).sort()
  const at = (p: number) => v[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!
  let sum = 0
  for (let i = 0; i < n; i++) sum += v[i]!
  return { count: n, p50: at(50), p90: at(90), p99: at(99), max: v[n - 1]!, mean: sum / n }
}

interface Recorder {
  total: Float64Array
  ttfb: Float64Array
  lag: Float64Array
  header: Float64Array
  nTotal: number
  nTtfb: number
  nLag: number
  nHeader: number
  ok: number
  non2xx: number
  errors: number
  statusCounts: Record<string, number>
  errorSamples: string[]
  lastEnd: number
}

function newRecorder(n: number): Recorder {
  return {
    total: new Float64Array(n),
    ttfb: new Float64Array(n),
    lag: new Float64Array(n),
    header: new Float64Array(n),
    nTotal: 0,
    nTtfb: 0,
    nLag: 0,
    nHeader: 0,
    ok: 0,
    non2xx: 0,
    errors: 0,
    statusCounts: {},
    errorSamples: [],
    lastEnd: 0,
  }
}

// Node's timers run on a ~1 ms grid and may fire a millisecond or more late,
// and spinning the event loop until each due time burns the core we share
// with the mock (and gets us preempted). So a worker thread sleeps precisely
// (Atomics.wait, a futex with a sub-ms timeout) and posts a wake-up
// WAKE_EARLY_MS before each due time; the main thread then spins
// (setImmediate, which keeps serving I/O) only for that short remainder.
const WAKE_EARLY_MS = 0.15
const SPIN_WINDOW_MS = WAKE_EARLY_MS + 0.3

// CommonJS source for the ticker thread (eval'd, so no extra file to ship).
// It says 'ready' once booted (tens of ms), then receives the schedule.
const TICKER_SRC = `
const { parentPort, workerData } = require('node:worker_threads')
const { early, mainOrigin } = workerData
const cell = new Int32Array(new SharedArrayBuffer(4))
// performance.now() is relative to each thread's own time origin.
const shift = mainOrigin - performance.timeOrigin
parentPort.once('message', ({ start, interval, count }) => {
  for (let i = 0; i < count; i++) {
    const wakeAt = start + shift + i * interval - early
    for (let w = wakeAt - performance.now(); w > 0; w = wakeAt - performance.now()) Atomics.wait(cell, 0, 0, Math.min(w, 1000))
    parentPort.postMessage(i)
  }
})
parentPort.postMessage('ready')
`

/** A booted ticker thread; `run` makes it call `wake` shortly before each due time start + i*interval (main-thread clock). */
async function startTicker(): Promise<{ worker: Worker; run: (start: number, interval: number, count: number, wake: () => void) => void }> {
  const worker = new Worker(TICKER_SRC, { eval: true, workerData: { early: WAKE_EARLY_MS, mainOrigin: performance.timeOrigin } })
  worker.unref()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ticker thread did not start within 10 s')), 10_000)
    worker.once('error', reject)
    worker.once('message', () => {
      clearTimeout(timer)
      worker.off('error', reject)
      resolve()
    })
  })
  return {
    worker,
    run(start, interval, count, wake) {
      worker.on('message', wake)
      worker.postMessage({ start, interval, count })
    },
  }
}

class Phase {
  private inflight = 0
  private onIdle: (() => void) | undefined
  private readonly dispatchOpts: Dispatcher.DispatchOptions

  constructor(
    private readonly pool: Pool,
    private readonly opts: OpenLoopOptions,
    private readonly rec: Recorder,
  ) {
    this.dispatchOpts = { path: opts.path, method: opts.method ?? 'POST', headers: opts.headers, body: opts.method === 'GET' ? null : Buffer.from(opts.body) }
  }

  /**
   * Sends `count` requests on the fixed schedule starting `leadMs` from now
   * (after the ticker thread is up); resolves with the start time once the
   * last one is dispatched.
   */
  async schedule(count: number, leadMs: number): Promise<number> {
    const interval = 1000 / this.opts.rate
    const ticker = await startTicker()
    const start = performance.now() + leadMs
    let i = 0
    let spinning = false
    try {
      await new Promise<void>((resolve, reject) => {
        // Hard stop, should the ticker die or stall: the schedule's length plus slack.
        const guard = setTimeout(() => reject(new Error(`open loop: scheduler stalled at request ${i} of ${count}`)), leadMs + count * interval + 10_000)
        ticker.worker.once('error', (err) => {
          clearTimeout(guard)
          reject(err)
        })
        const tick = () => {
          const now = performance.now()
          // Everything already due goes now (a late generator catches up; its
          // lateness is charged to latency because we time from `intended`).
          while (i < count) {
            const intended = start + i * interval
            if (intended > now) break
            this.fire(intended)
            i++
          }
          if (i >= count) {
            spinning = false
            clearTimeout(guard)
            return resolve()
          }
          // Spin only for the last fraction of a millisecond before a due time.
          spinning = start + i * interval - performance.now() <= SPIN_WINDOW_MS
          if (spinning) setImmediate(tick)
        }
        ticker.run(start, interval, count, () => {
          if (!spinning && i < count) tick()
        })
      })
    } finally {
      await ticker.worker.terminate()
    }
    return start
  }

  /** Resolves when nothing is in flight, or after `timeoutMs` (then the caller destroys the pool). */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onIdle = undefined
        resolve(false)
      }, timeoutMs)
      this.onIdle = () => {
        clearTimeout(timer)
        resolve(true)
      }
    })
  }

  private fire(intended: number): void {
    const rec = this.rec
    const headerName = this.opts.numericHeader
    const sent = performance.now()
    rec.lag[rec.nLag++] = sent - intended
    this.inflight++
    let status = 0
    let first = -1
    let finished = false
    const done = (err?: Error) => {
      if (finished) return
      finished = true
      const end = performance.now()
      if (end > rec.lastEnd) rec.lastEnd = end
      if (err) {
        rec.errors++
        if (rec.errorSamples.length < 5) rec.errorSamples.push(`${err.name}: ${err.message}`)
      } else {
        rec.statusCounts[status] = (rec.statusCounts[status] ?? 0) + 1
        if (status >= 200 && status < 300) {
          rec.ok++
          rec.total[rec.nTotal++] = end - intended
          if (first >= 0) rec.ttfb[rec.nTtfb++] = first - intended
        } else {
          rec.non2xx++
        }
      }
      if (--this.inflight === 0 && this.onIdle) {
        const f = this.onIdle
        this.onIdle = undefined
        f()
      }
    }
    const handler: Dispatcher.DispatchHandler = {
      // Present so undici uses this (non-legacy) handler API.
      onRequestStart() {},
      onResponseStart(_controller, statusCode, headers) {
        status = statusCode
        if (headerName) {
          const v = headers[headerName]
          const n = typeof v === 'string' ? Number(v) : NaN
          if (Number.isFinite(n)) rec.header[rec.nHeader++] = n
        }
      },
      onResponseData() {
        if (first < 0) first = performance.now()
      },
      onResponseEnd() {
        done()
      },
      onResponseError(_controller, err) {
        done(err)
      },
    }
    try {
      this.pool.dispatch(this.dispatchOpts, handler)
    } catch (err) {
      done(err as Error)
    }
  }
}

/** Runs warm-up then the measured window against one target. */
export async function runOpenLoop(opts: OpenLoopOptions): Promise<OpenLoopResult> {
  if (!(opts.rate > 0 && opts.rate <= 100_000)) throw new Error(`rate out of range: ${opts.rate}`)
  if (!(opts.seconds > 0 && opts.seconds <= 600)) throw new Error(`seconds out of range: ${opts.seconds}`)
  const pool = new Pool(opts.origin, {
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connect: { timeout: 5_000 },
  })
  const interval = 1000 / opts.rate
  try {
    // Warm-up: same rate, not recorded (own recorder, thrown away).
    const warmCount = Math.round(opts.warmupSeconds * opts.rate)
    if (warmCount > 0) {
      const warm = new Phase(pool, opts, newRecorder(warmCount))
      await warm.schedule(warmCount, 5)
      await warm.drain(opts.timeoutMs + 1_000)
    }

    const count = Math.round(opts.seconds * opts.rate)
    const rec = newRecorder(count)
    const phase = new Phase(pool, opts, rec)
    const start = await phase.schedule(count, 5)
    const drained = await phase.drain(opts.timeoutMs + 1_000)
    if (!drained) {
      // Whatever is still queued or in flight fails now and is counted as errors.
      await pool.destroy(new Error('open loop: requests still pending at the deadline'))
    }
    const span = (count - 1) * interval + interval
    return {
      rate: opts.rate,
      seconds: opts.seconds,
      planned: count,
      ok: rec.ok,
      non2xx: rec.non2xx,
      errors: rec.errors,
      statusCounts: rec.statusCounts,
      errorSamples: rec.errorSamples,
      wallSeconds: ((rec.lastEnd || performance.now()) - start) / 1000,
      achievedRate: rec.ok / (span / 1000),
      total: summarize(rec.total, rec.nTotal),
      ttfb: opts.stream ? summarize(rec.ttfb, rec.nTtfb) : null,
      sendLag: summarize(rec.lag, rec.nLag),
      header: opts.numericHeader ? summarize(rec.header, rec.nHeader) : null,
    }
  } finally {
    if (!pool.destroyed) await pool.close().catch(() => pool.destroy())
  }
}
