// Load generators for the failure scenario and the soak, one job per
// (pinned) process, started by bench/failures.ts and bench/soak.ts:
//   node dist/bench/traffic-worker.js '<job json>'
// Prints progress lines (PROGRESS_MARK + JSON, soak only) and exactly one
// result line (RESULT_MARK + JSON) on stdout; problems go to stderr.
//
// closed-headers: a closed loop (each connection sends its next request when
//   the previous answer is complete) that also tallies response headers:
//   x-switchyard-attempts and x-switchyard-deployment, per second.
// soak: a fixed-rate mixed load (chat, streamed chat with and without
//   stream_options, embeddings, client aborts mid-stream) from a seeded PRNG.
import { Pool } from 'undici'
import { seededRandom } from '../test/mocks/openai.js'
import { summarize, type Summary } from './open-loop.js'
import { workerMain } from './worker-io.js'

export const PROGRESS_MARK = '@@bench-progress@@ '

export const ATTEMPTS_HEADER = 'x-switchyard-attempts'
export const DEPLOYMENT_HEADER = 'x-switchyard-deployment'

// ---------------------------------------------------------------- jobs

export interface ClosedHeadersJob {
  kind: 'closed-headers'
  origin: string
  path: string
  headers: Record<string, string>
  body: string
  connections: number
  seconds: number
  timeoutMs: number
  /** Unrecorded warm-up first (e.g. against a model without the flaky deployment). */
  warmup?: { body: string; seconds: number }
}

export interface SecondBucket {
  /** Second of the measured window (0-based, by completion time). */
  s: number
  n: number
  ok: number
  /** Responses with x-switchyard-attempts > 1. */
  retried: number
  /** 2xx by x-switchyard-deployment. */
  byDeployment: Record<string, number>
}

export interface ClosedHeadersResult {
  seconds: number
  completed: number
  ok: number
  non2xx: number
  errors: number
  statusCounts: Record<string, number>
  errorSamples: string[]
  non2xxSamples: string[]
  /** Completed responses per second, and 2xx per second. */
  rps: number
  okRps: number
  /** ok / (ok + non2xx + errors). */
  successRate: number
  /** Send to end of body, ms, 2xx only (closed loop: indicative). */
  latency: Summary
  /** x-switchyard-attempts value -> responses (all statuses); 'none' when absent. */
  attempts: Record<string, number>
  /** x-switchyard-deployment -> 2xx responses. */
  deployments: Record<string, number>
  timeline: SecondBucket[]
}

export interface SoakJob {
  kind: 'soak'
  origin: string
  headers: Record<string, string>
  chatModel: string
  embedModel: string
  /** Requests per second. */
  rate: number
  seconds: number
  timeoutMs: number
  connections: number
  /** Above this many requests in flight, due requests are dropped (counted) instead of queued. */
  maxInflight: number
  seed: number
  /** How often a PROGRESS_MARK line is printed. */
  progressMs: number
}

export const SOAK_KINDS = ['chat', 'stream', 'stream_usage', 'embeddings', 'abort'] as const
export type SoakKind = (typeof SOAK_KINDS)[number]

/** The mix, cumulative thresholds over [0, 1): 45% chat, 24% stream, 21% stream + include_usage, 7% embeddings, 3% stream aborted by the client. */
export const SOAK_MIX: ReadonlyArray<readonly [SoakKind, number]> = [
  ['chat', 0.45],
  ['stream', 0.69],
  ['stream_usage', 0.9],
  ['embeddings', 0.97],
  ['abort', 1],
]

export interface SoakCounts {
  /** Requests due by the schedule (sent + dropped). */
  due: number
  sent: number
  ok: number
  non2xx: number
  /** Network errors and timeouts (intended client aborts excluded). */
  errors: number
  /** Streams the client aborted on purpose after the first chunk. */
  aborted: number
  /** 2xx streams that ended without `data: [DONE]`. */
  streamIncomplete: number
  /** Not sent because maxInflight requests were in flight. */
  dropped: number
  inflight: number
}

export interface SoakProgress extends SoakCounts {
  /** Seconds since the load started. */
  t: number
  /** Most requests in flight at once since the previous progress line (a stall shows up here). */
  inflightPeak: number
}

export interface SoakResult extends SoakCounts {
  seconds: number
  wallSeconds: number
  achievedRate: number
  byKind: Record<SoakKind, { sent: number; ok: number; non2xx: number; errors: number; p50: number; p99: number }>
  statusCounts: Record<string, number>
  errorSamples: string[]
  non2xxSamples: string[]
  interrupted: boolean
}

export type TrafficJob = ClosedHeadersJob | SoakJob

// ---------------------------------------------------------------- helpers

function errText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.replace(/\s+/g, ' ') : String(err)
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

/** Keep-alive connections to the job's origin, one request at a time on each, with the job's timeouts. */
function poolFor(job: { origin: string; connections: number; timeoutMs: number }): Pool {
  return new Pool(job.origin, {
    connections: job.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: job.timeoutMs,
    bodyTimeout: job.timeoutMs,
    connect: { timeout: 5_000 },
  })
}

/**
 * Log-bucketed latency histogram (2% wide buckets from 0.01 ms to ~60 s):
 * bounded memory whatever the run length; percentiles within 2%.
 */
class Histogram {
  private static readonly MIN = 0.01
  private static readonly GROWTH = Math.log(1.02)
  private readonly buckets = new Float64Array(800)
  private count = 0

  add(ms: number): void {
    const i = ms <= Histogram.MIN ? 0 : Math.min(this.buckets.length - 1, Math.floor(Math.log(ms / Histogram.MIN) / Histogram.GROWTH))
    this.buckets[i]!++
    this.count++
  }

  /** Upper edge of the bucket holding the nearest-rank percentile. */
  percentile(p: number): number {
    if (this.count === 0) return NaN
    const rank = Math.max(1, Math.ceil((p / 100) * this.count))
    let seen = 0
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!
      if (seen >= rank) return Histogram.MIN * Math.exp((i + 1) * Histogram.GROWTH)
    }
    return NaN
  }
}

// ---------------------------------------------------------------- closed loop with headers

async function closedLoop(
  pool: Pool,
  job: ClosedHeadersJob,
  body: string,
  seconds: number,
  onDone: ((r: { status: number; ms: number; end: number; headers: Record<string, string | string[] | undefined>; text?: string; err?: unknown }) => void) | undefined,
): Promise<void> {
  const end = performance.now() + seconds * 1000
  const loop = async () => {
    while (performance.now() < end) {
      const start = performance.now()
      try {
        const res = await pool.request({ path: job.path, method: 'POST', headers: job.headers, body, headersTimeout: job.timeoutMs, bodyTimeout: job.timeoutMs })
        const text = await res.body.text()
        const t = performance.now()
        onDone?.({ status: res.statusCode, ms: t - start, end: t, headers: res.headers, text: res.statusCode >= 300 ? text : undefined })
      } catch (err) {
        const t = performance.now()
        onDone?.({ status: 0, ms: t - start, end: t, headers: {}, err })
        // A refused connection fails instantly: don't spin.
        await new Promise((r) => setTimeout(r, 10))
      }
    }
  }
  await Promise.all(Array.from({ length: job.connections }, loop))
}

async function runClosedHeaders(job: ClosedHeadersJob): Promise<ClosedHeadersResult> {
  const pool = poolFor(job)
  try {
    if (job.warmup && job.warmup.seconds > 0) await closedLoop(pool, job, job.warmup.body, job.warmup.seconds, undefined)

    const lat: number[] = []
    const statusCounts: Record<string, number> = {}
    const attempts: Record<string, number> = {}
    const deployments: Record<string, number> = {}
    const errorSamples: string[] = []
    const non2xxSamples: string[] = []
    const timeline: SecondBucket[] = []
    let ok = 0
    let non2xx = 0
    let errors = 0
    const t0 = performance.now()
    let lastEnd = t0
    await closedLoop(pool, job, job.body, job.seconds, (r) => {
      if (r.end > lastEnd) lastEnd = r.end
      const s = Math.floor((r.end - t0) / 1000)
      const bucket = (timeline[s] ??= { s, n: 0, ok: 0, retried: 0, byDeployment: {} })
      bucket.n++
      if (r.err !== undefined) {
        errors++
        if (errorSamples.length < 5) errorSamples.push(errText(r.err))
        return
      }
      statusCounts[r.status] = (statusCounts[r.status] ?? 0) + 1
      const a = headerValue(r.headers[ATTEMPTS_HEADER]) ?? 'none'
      attempts[a] = (attempts[a] ?? 0) + 1
      if (Number(a) > 1) bucket.retried++
      if (r.status >= 200 && r.status < 300) {
        ok++
        bucket.ok++
        lat.push(r.ms)
        const d = headerValue(r.headers[DEPLOYMENT_HEADER]) ?? 'none'
        deployments[d] = (deployments[d] ?? 0) + 1
        bucket.byDeployment[d] = (bucket.byDeployment[d] ?? 0) + 1
      } else {
        non2xx++
        if (non2xxSamples.length < 5) non2xxSamples.push(`${r.status} attempts=${a}: ${(r.text ?? '').slice(0, 300)}`)
      }
    })
    const seconds = (lastEnd - t0) / 1000
    const completed = ok + non2xx + errors
    // Seconds with no completion at all still appear in the timeline.
    for (let s = 0; s < timeline.length; s++) timeline[s] ??= { s, n: 0, ok: 0, retried: 0, byDeployment: {} }
    return {
      seconds,
      completed,
      ok,
      non2xx,
      errors,
      statusCounts,
      errorSamples,
      non2xxSamples,
      rps: seconds > 0 ? completed / seconds : 0,
      okRps: seconds > 0 ? ok / seconds : 0,
      successRate: completed > 0 ? ok / completed : NaN,
      latency: summarize(Float64Array.from(lat), lat.length),
      attempts,
      deployments,
      timeline,
    }
  } finally {
    await pool.close().catch(() => pool.destroy())
  }
}

// ---------------------------------------------------------------- soak

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima']

async function runSoak(job: SoakJob, stopSignal: AbortSignal): Promise<SoakResult> {
  const random = seededRandom(job.seed)
  const pool = poolFor(job)
  const c: SoakCounts = { due: 0, sent: 0, ok: 0, non2xx: 0, errors: 0, aborted: 0, streamIncomplete: 0, dropped: 0, inflight: 0 }
  const kinds = Object.fromEntries(SOAK_KINDS.map((k) => [k, { sent: 0, ok: 0, non2xx: 0, errors: 0, hist: new Histogram() }])) as Record<
    SoakKind,
    { sent: number; ok: number; non2xx: number; errors: number; hist: Histogram }
  >
  const statusCounts: Record<string, number> = {}
  const errorSamples: string[] = []
  const non2xxSamples: string[] = []
  const pending = new Set<AbortController>()
  let inflightPeak = 0

  const text = () => {
    const n = 1 + Math.floor(random() * 40)
    const out: string[] = []
    for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(random() * WORDS.length)]!)
    return out.join(' ')
  }

  const send = (kind: SoakKind) => {
    let path = '/v1/chat/completions'
    let body: Record<string, unknown>
    if (kind === 'embeddings') {
      path = '/v1/embeddings'
      body = { model: job.embedModel, input: random() < 0.5 ? text() : [text(), text()] }
    } else {
      body = { model: job.chatModel, messages: [{ role: 'user', content: text() }] }
      if (random() < 0.3) body.max_tokens = 16 + Math.floor(random() * 200)
      if (kind !== 'chat') body.stream = true
      if (kind === 'stream_usage') body.stream_options = { include_usage: true }
    }
    const controller = new AbortController()
    pending.add(controller)
    c.sent++
    c.inflight++
    if (c.inflight > inflightPeak) inflightPeak = c.inflight
    const k = kinds[kind]
    k.sent++
    const start = performance.now()
    let intendedAbort = false
    void (async () => {
      try {
        const res = await pool.request({ path, method: 'POST', headers: job.headers, body: JSON.stringify(body), signal: controller.signal })
        statusCounts[res.statusCode] = (statusCounts[res.statusCode] ?? 0) + 1
        const ok = res.statusCode >= 200 && res.statusCode < 300
        if (kind === 'abort' && ok) {
          // Wait for the first chunk, then go away mid-stream.
          for await (const _chunk of res.body) {
            intendedAbort = true
            controller.abort()
            break
          }
          if (!intendedAbort) c.streamIncomplete++ // ended without a single chunk
          else c.aborted++
          return
        }
        if (kind !== 'chat' && kind !== 'embeddings' && ok) {
          // Keep only the tail: enough to see the [DONE] marker.
          let tail = ''
          for await (const chunk of res.body) tail = (tail + (chunk as Buffer).toString('utf8')).slice(-64)
          if (!tail.includes('data: [DONE]')) c.streamIncomplete++
        } else {
          const t = await res.body.text()
          if (!ok && non2xxSamples.length < 5) non2xxSamples.push(`${kind} ${res.statusCode}: ${t.slice(0, 300)}`)
        }
        if (ok) {
          c.ok++
          k.ok++
          k.hist.add(performance.now() - start)
        } else {
          c.non2xx++
          k.non2xx++
        }
      } catch (err) {
        if (intendedAbort) {
          c.aborted++
          return
        }
        c.errors++
        k.errors++
        if (errorSamples.length < 5) errorSamples.push(`${kind}: ${errText(err)}`)
      } finally {
        c.inflight--
        pending.delete(controller)
      }
    })()
  }

  const pickKind = (): SoakKind => {
    const r = random()
    for (const [kind, upTo] of SOAK_MIX) if (r < upTo) return kind
    return 'chat'
  }

  const t0 = performance.now()
  const total = Math.round(job.rate * job.seconds)
  const progress = () => {
    const p: SoakProgress = { t: (performance.now() - t0) / 1000, ...c, inflightPeak }
    inflightPeak = c.inflight
    process.stdout.write(`${PROGRESS_MARK}${JSON.stringify(p)}\n`)
  }
  const progressTimer = setInterval(progress, job.progressMs)
  let interrupted = false
  try {
    // The schedule: request i is due at t0 + i/rate. A timer every 5 ms sends
    // whatever is due (1-2 requests per tick at 300 req/s).
    await new Promise<void>((resolve) => {
      const onStop = () => {
        interrupted = true
        clearInterval(timer)
        resolve()
      }
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * job.rate))
        while (c.due < due) {
          c.due++
          const kind = pickKind()
          if (c.inflight >= job.maxInflight) c.dropped++
          else send(kind)
        }
        if (c.due >= total) {
          clearInterval(timer)
          stopSignal.removeEventListener('abort', onStop)
          resolve()
        }
      }
      const timer = setInterval(tick, 5)
      if (stopSignal.aborted) onStop()
      else stopSignal.addEventListener('abort', onStop, { once: true })
    })
    const sentSpan = (performance.now() - t0) / 1000
    // Drain: whatever is still pending after the deadline is aborted and counted as an error.
    const drainUntil = performance.now() + (interrupted ? 1_000 : job.timeoutMs + 1_000)
    while (c.inflight > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 20))
    if (c.inflight > 0) {
      for (const ctl of pending) ctl.abort(new Error('pending at the drain deadline'))
      const hard = performance.now() + 2_000
      while (c.inflight > 0 && performance.now() < hard) await new Promise((r) => setTimeout(r, 20))
    }
    const byKind = Object.fromEntries(
      SOAK_KINDS.map((kind) => {
        const k = kinds[kind]
        return [kind, { sent: k.sent, ok: k.ok, non2xx: k.non2xx, errors: k.errors, p50: k.hist.percentile(50), p99: k.hist.percentile(99) }]
      }),
    ) as SoakResult['byKind']
    return {
      ...c,
      seconds: job.seconds,
      wallSeconds: (performance.now() - t0) / 1000,
      achievedRate: sentSpan > 0 ? c.sent / sentSpan : 0,
      byKind,
      statusCounts,
      errorSamples,
      non2xxSamples,
      interrupted,
    }
  } finally {
    clearInterval(progressTimer)
    progress()
    await pool.destroy().catch(() => undefined)
  }
}

// ---------------------------------------------------------------- main

function jobLimitMs(job: TrafficJob): number {
  const seconds = job.kind === 'closed-headers' ? job.seconds + (job.warmup?.seconds ?? 0) + (2 * job.timeoutMs) / 1000 + 15 : job.seconds + (2 * job.timeoutMs) / 1000 + 15
  return Math.ceil(seconds * 1000)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  workerMain<TrafficJob>('traffic-worker', jobLimitMs, (job) => {
    // SIGINT (Ctrl-C reaches the whole process group) or SIGTERM from the
    // harness: the soak stops sending and still reports what it has.
    const stop = new AbortController()
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.on(sig, () => {
        if (job.kind !== 'soak' || stop.signal.aborted) process.exit(130)
        stop.abort()
      })
    }
    return job.kind === 'closed-headers' ? runClosedHeaders(job) : runSoak(job, stop.signal)
  })
}
