// One load-generation job, run in its own (pinned) process by bench/run.ts:
//   node dist/bench/load-worker.js '<job json>'
// Prints exactly one result line, RESULT_MARK + JSON, on stdout; progress and
// problems go to stderr. Exits non-zero if the job itself failed.
import { createRequire } from 'node:module'
import { runOpenLoop, type OpenLoopOptions, type OpenLoopResult } from './open-loop.js'
import { workerMain } from './worker-io.js'

export interface ClosedJob {
  kind: 'closed'
  url: string
  headers: Record<string, string>
  body: string
  connections: number
  duration: number
  warmupSeconds: number
}

export interface OpenJob extends OpenLoopOptions {
  kind: 'open'
}

export type Job = ClosedJob | OpenJob

export interface ClosedResult {
  /** Mean of autocannon's per-second samples. */
  rps: number
  /** Completed responses / measured duration. */
  rpsTotal: number
  total: number
  ok2xx: number
  non2xx: number
  errors: number
  timeouts: number
  resets: number
  statusCounts: Record<string, number>
  durationSeconds: number
  /** autocannon's latency figures (closed loop, so only indicative), ms. */
  latency: { p50: number; p99: number; mean: number; max: number }
}

export type JobResult = ClosedResult | OpenLoopResult

// autocannon ships no types; just the bits used here.
interface AutocannonResult {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number; average: number; max: number }
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  resets: number
  '2xx': number
  statusCodeStats: Record<string, { count: number }>
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, result: AutocannonResult) => void) => unknown

async function runClosed(job: ClosedJob): Promise<ClosedResult> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
  const opts: Record<string, unknown> = {
    url: job.url,
    method: 'POST',
    headers: job.headers,
    body: job.body,
    connections: job.connections,
    duration: job.duration,
    timeout: 10,
    renderProgressBar: false,
    renderResultsTable: false,
    renderLatencyTable: false,
  }
  if (job.warmupSeconds > 0) opts.warmup = { connections: job.connections, duration: job.warmupSeconds }
  const r = await new Promise<AutocannonResult>((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)))
  })
  const statusCounts: Record<string, number> = {}
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statusCounts[code] = s.count
  return {
    rps: r.requests.average,
    rpsTotal: r.duration > 0 ? r.requests.total / r.duration : 0,
    total: r.requests.total,
    ok2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    resets: r.resets,
    statusCounts,
    durationSeconds: r.duration,
    latency: { p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.average, max: r.latency.max },
  }
}

function jobLimitMs(job: Job): number {
  const seconds = job.kind === 'closed' ? job.duration + job.warmupSeconds + 15 : job.seconds + job.warmupSeconds + (2 * job.timeoutMs) / 1000 + 10
  return Math.ceil(seconds * 1000)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  workerMain<Job>('load-worker', jobLimitMs, (job): Promise<JobResult> => (job.kind === 'closed' ? runClosed(job) : runOpenLoop(job)))
}
