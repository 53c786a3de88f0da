// Switchyard benchmark: what does the gateway cost compared with calling the
// upstream directly, and compared with a peer gateway? Everything runs on
// loopback in child processes:
//   core 0: the mock upstream, the OTLP sink and every load generator
//   core 1: the gateways (one loaded at a time; the others idle)
// Targets: direct to the mock; Switchyard with its defaults (metrics on,
// tracing off); Switchyard observed (metrics on, tracing on, OTLP/HTTP to a
// loopback sink); Switchyard bare (metrics off, tracing off); Portkey's
// open-source gateway (devDependency) on the same mock.
// Each round runs every target once per measure, in an order rotated per
// round, so a slow spell on the machine is spread over all of them; the
// table gives the median over rounds and the min-max spread. Ratios are
// taken within a round (gateway / direct of the same round), then the median.
// The gateway's CPU per request is its process's utime + stime
// (/proc/<pid>/stat, every thread) over a job, divided by the requests it
// served in the job.
// Prints a table, writes bench/results/latest.json. See bench/README.md.
//
//   npm run bench
//   BENCH_ROUNDS=1 BENCH_DURATION=2 BENCH_LATENCY_SECONDS=2 node dist/bench/run.js
//   BENCH_TARGETS=direct,switchyard node dist/bench/run.js
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { request } from 'undici'
import type { ClosedJob, ClosedResult, Job, OpenJob } from './load-worker.js'
import type { OpenLoopResult } from './open-loop.js'
import { readProcTicks, type CoreShare } from './host.js'
import { detectPinning, type Pinning } from './procs.js'
import {
  armWatchdog,
  assertAlive,
  busyBeforeStart,
  cleanup,
  CORE_GATEWAY,
  CORE_LOAD,
  fmt,
  HarnessError,
  hostMeta,
  installExitHooks,
  intEnv,
  LOAD_JS,
  makeTmpDir,
  MOCK_JS,
  OTLP_SINK_JS,
  pad,
  padR,
  PORTKEY_SHIM_JS,
  requireBuilt,
  runMain,
  runWorker,
  SERVER_JS,
  startGateway,
  startMock,
  startOtlpSink,
  startPortkey,
  writeResults,
  type Gateway,
} from './stack.js'

// ---------------------------------------------------------------- settings

const POOL_CONNECTIONS = 64
const CLOSED_WARMUP_S = 1
const OPEN_WARMUP_S = 1.5
const OPEN_TIMEOUT_MS = 5_000
const MODEL = 'bench-model'
const CHAT_PATH = '/v1/chat/completions'
const OVERHEAD_HEADER = 'x-switchyard-overhead-ms'

const TARGETS = { ratioMin: 0.5, ratioAim: 0.8, addedP50MaxMs: 0.3, addedP99MaxMs: 2, peerMin: 10, observeCostMaxPct: 5 }

const TARGET_NAMES = ['direct', 'switchyard', 'observed', 'bare', 'portkey'] as const
type TargetName = (typeof TARGET_NAMES)[number]
const DESCRIPTION: Record<TargetName, string> = {
  direct: 'direct to the mock',
  switchyard: 'Switchyard, defaults (metrics on, tracing off)',
  observed: 'Switchyard, metrics on + tracing on (OTLP/HTTP to a loopback sink, every request sampled)',
  bare: 'Switchyard, metrics off + tracing off',
  portkey: "Portkey's open-source gateway (@portkey-ai/gateway, Node server)",
}
const isSwitchyard = (n: TargetName) => n === 'switchyard' || n === 'observed' || n === 'bare'

interface Params {
  rounds: number
  duration: number
  connections: number
  rate: number
  latencySeconds: number
  targets: TargetName[]
  poolConnections: number
  closedWarmupSeconds: number
  openWarmupSeconds: number
  openTimeoutMs: number
}

function readParams(): Params {
  const raw = process.env.BENCH_TARGETS
  const targets = raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : [...TARGET_NAMES]
  for (const t of targets) if (!(TARGET_NAMES as readonly string[]).includes(t)) throw new HarnessError(`BENCH_TARGETS: unknown target ${JSON.stringify(t)} (known: ${TARGET_NAMES.join(', ')})`)
  if (!targets.includes('direct')) throw new HarnessError('BENCH_TARGETS must include direct: every ratio is to direct')
  return {
    rounds: intEnv('BENCH_ROUNDS', 3, 1, 20),
    duration: intEnv('BENCH_DURATION', 5, 1, 120),
    connections: intEnv('BENCH_CONNECTIONS', 50, 1, 1000),
    rate: intEnv('BENCH_RATE', 500, 1, 20_000),
    latencySeconds: intEnv('BENCH_LATENCY_SECONDS', 5, 1, 120),
    targets: TARGET_NAMES.filter((t) => targets.includes(t)),
    poolConnections: POOL_CONNECTIONS,
    closedWarmupSeconds: CLOSED_WARMUP_S,
    openWarmupSeconds: OPEN_WARMUP_S,
    openTimeoutMs: OPEN_TIMEOUT_MS,
  }
}

installExitHooks('bench')

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
}
const CLK_TCK = clockTicks()

// ---------------------------------------------------------------- targets

interface Target {
  name: TargetName
  url: string
  headers: Record<string, string>
  /** The process whose CPU is accounted (none for direct). */
  proc?: Gateway
}

function gatewayYaml(upstream: string, metrics: boolean): string {
  return [
    'providers:',
    `  - { name: upstream, type: openai, baseUrl: ${upstream}/v1, apiKey: sk-bench }`,
    'models:',
    `  - name: ${MODEL}`,
    '    deployments: [{ provider: upstream, model: bench-upstream }]',
    ...(metrics ? [] : ['observability:', '  metrics: { enabled: false }']),
    '',
  ].join('\n')
}

/** One request of each kind before any load, so a misconfiguration fails fast and clearly. */
async function preflight(t: Target): Promise<void> {
  for (const stream of [false, true]) {
    const res = await request(t.url, { method: 'POST', headers: t.headers, body: chatBody(stream), headersTimeout: 5_000, bodyTimeout: 5_000 })
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new HarnessError(`preflight ${t.name} (stream=${stream}): HTTP ${res.statusCode}: ${text.slice(0, 300)}`)
    if (stream ? !text.includes('data: [DONE]') : !text.includes('chat.completion')) throw new HarnessError(`preflight ${t.name} (stream=${stream}): unexpected body: ${text.slice(0, 300)}`)
    if (isSwitchyard(t.name) && res.headers[OVERHEAD_HEADER] === undefined) log(`warning: ${t.name} response has no ${OVERHEAD_HEADER} header`)
  }
}

function chatBody(stream: boolean): string {
  return JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], ...(stream ? { stream: true } : {}) })
}

// ---------------------------------------------------------------- jobs

interface Accounted {
  /** The gateway's core during the job (pinned runs on Linux only). */
  gatewayCore?: CoreShare
  /** CPU seconds of the target's process during the job (utime + stime). */
  cpuSeconds?: number
  /** Requests the target served during the job, warm-up included. */
  served?: number
  /** cpuSeconds / served, microseconds. */
  cpuUsPerRequest?: number
}

/** Runs one job in a load-worker process, accounting the target's CPU meanwhile. */
async function runJob<R extends object>(job: Job, pinning: Pinning, label: string, t: Target, served: (r: R) => number): Promise<R & Accounted> {
  const limitS = job.kind === 'closed' ? job.duration + job.warmupSeconds + 20 : job.seconds + job.warmupSeconds + (2 * job.timeoutMs) / 1000 + 15
  log(`${label} ...`)
  const pid = t.proc?.child.pid
  const t0 = readProcTicks(pid)
  const { result, gatewayCore, exitCode } = await runWorker<R>(LOAD_JS, job, { pinning, label, limitMs: limitS * 1000, gatewayPid: pid })
  const t1 = readProcTicks(pid)
  if (exitCode !== 0 && exitCode !== null) log(`warning: ${label} worker exited with ${exitCode} after its result`)
  const out: R & Accounted = { ...result, ...(gatewayCore && t.proc ? { gatewayCore } : {}) }
  if (t0 !== undefined && t1 !== undefined) {
    out.cpuSeconds = (t1 - t0) / CLK_TCK
    out.served = served(result)
    if (out.served > 0) out.cpuUsPerRequest = (out.cpuSeconds * 1e6) / out.served
  }
  return out
}

// ---------------------------------------------------------------- statistics

interface Spread {
  median: number
  min: number
  max: number
  n: number
}

function spread(values: Array<number | undefined>): Spread | null {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = Math.floor(v.length / 2)
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length }
}

const f3 = (n: number | null | undefined) => fmt(n, 3)
const sp = (s: Spread | null, digits = 1) => (s ? (s.n > 1 && s.min !== s.max ? `${fmt(s.median, digits)} [${fmt(s.min, digits)}-${fmt(s.max, digits)}]` : fmt(s.median, digits)) : 'n/a')

function closedErrors(r: ClosedResult): number {
  return r.non2xx + r.errors + r.timeouts
}

function openErrors(r: OpenLoopResult): number {
  return r.non2xx + r.errors
}

type ClosedRun = ClosedResult & Accounted
type OpenRun = OpenLoopResult & Accounted

interface RoundResult {
  round: number
  order: TargetName[]
  closed: Partial<Record<TargetName, { nonStream: ClosedRun; stream: ClosedRun }>>
  open: Partial<Record<TargetName, { nonStream: OpenRun; stream: OpenRun }>>
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const params = readParams()
  const { targets: names, rounds } = params
  requireBuilt([SERVER_JS, MOCK_JS, LOAD_JS, OTLP_SINK_JS, PORTKEY_SHIM_JS], 'bench')
  const pinning = detectPinning()
  const pinText = pinning.enabled
    ? `mock + sink + load generators on core ${CORE_LOAD}, gateways on core ${CORE_GATEWAY} (one loaded at a time) (taskset)`
    : `NOT PINNED: ${pinning.reason}; processes share all cores, figures are noisier`
  if (!pinning.enabled) log(`WARNING: ${pinText}`)

  const { pct: busyBefore, text: busyText } = await busyBeforeStart()
  const hostQuiet = !busyBefore || Object.values(busyBefore).every((v) => v < 15)
  if (!hostQuiet) log(`WARNING: the machine is already busy before the bench (${busyText}); figures will be noisy`)

  const perRound = names.length * (2 * (params.duration + CLOSED_WARMUP_S + 20) + 2 * (params.latencySeconds + OPEN_WARMUP_S + 2 * (OPEN_TIMEOUT_MS / 1000) + 15))
  const budgetS = 120 + rounds * perRound
  const watchdog = armWatchdog('bench', budgetS)

  try {
    const dir = makeTmpDir('switchyard-bench-')
    const masterKey = `bench-${randomBytes(16).toString('hex')}`

    log('starting mock upstream')
    const mock = await startMock(pinning, 'mock upstream')
    log(`mock upstream at ${mock.origin}`)
    const json = { 'content-type': 'application/json' }
    const auth = { ...json, authorization: `Bearer ${masterKey}` }
    const targets = new Map<TargetName, Target>()
    targets.set('direct', { name: 'direct', url: `${mock.origin}${CHAT_PATH}`, headers: { ...json } })
    if (names.includes('switchyard')) {
      const gw = await startGateway(pinning, dir, gatewayYaml(mock.origin, true), masterKey, 'switchyard', { fileTag: 'default' })
      targets.set('switchyard', { name: 'switchyard', url: `${gw.origin}${CHAT_PATH}`, headers: auth, proc: gw })
    }
    if (names.includes('observed')) {
      const sink = await startOtlpSink(pinning)
      const gw = await startGateway(pinning, dir, gatewayYaml(mock.origin, true), masterKey, 'switchyard observed', {
        fileTag: 'observed',
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.origin, OTEL_SERVICE_NAME: 'switchyard-bench' },
      })
      targets.set('observed', { name: 'observed', url: `${gw.origin}${CHAT_PATH}`, headers: auth, proc: gw })
    }
    if (names.includes('bare')) {
      const gw = await startGateway(pinning, dir, gatewayYaml(mock.origin, false), masterKey, 'switchyard bare', { fileTag: 'bare' })
      targets.set('bare', { name: 'bare', url: `${gw.origin}${CHAT_PATH}`, headers: auth, proc: gw })
    }
    if (names.includes('portkey')) {
      const pk = await startPortkey(pinning)
      targets.set('portkey', {
        name: 'portkey',
        url: `${pk.origin}${CHAT_PATH}`,
        headers: { ...json, authorization: 'Bearer sk-bench', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${mock.origin}/v1` },
        proc: pk,
      })
    }
    log(`targets: ${[...targets.values()].map((t) => `${t.name} ${new URL(t.url).origin}`).join(', ')}`)
    for (const t of targets.values()) await preflight(t)

    const alive = () => {
      for (const t of targets.values()) if (t.proc) assertAlive(t.proc.child, t.name)
    }

    const closed = (t: Target, stream: boolean, label: string) => {
      alive()
      const job: ClosedJob = { kind: 'closed', url: t.url, headers: t.headers, body: chatBody(stream), connections: params.connections, duration: params.duration, warmupSeconds: CLOSED_WARMUP_S }
      // autocannon does not count its warm-up: estimated at the measured rate.
      return runJob<ClosedResult>(job, pinning, label, t, (r) => r.rpsTotal * (r.durationSeconds + CLOSED_WARMUP_S))
    }
    const open = (t: Target, stream: boolean, label: string) => {
      alive()
      const u = new URL(t.url)
      const job: OpenJob = {
        kind: 'open', origin: u.origin, path: u.pathname, headers: t.headers, body: chatBody(stream), rate: params.rate, seconds: params.latencySeconds,
        warmupSeconds: OPEN_WARMUP_S, connections: POOL_CONNECTIONS, stream, timeoutMs: OPEN_TIMEOUT_MS,
        ...(isSwitchyard(t.name) ? { numericHeader: OVERHEAD_HEADER } : {}),
      }
      // The warm-up goes at the same rate and is served too.
      return runJob<OpenLoopResult>(job, pinning, label, t, (r) => r.ok + Math.round(params.rate * OPEN_WARMUP_S))
    }

    const results: RoundResult[] = []
    for (let r = 0; r < rounds; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length]!)
      const round: RoundResult = { round: r + 1, order, closed: {}, open: {} }
      log(`round ${r + 1}/${rounds}: ${order.join(', ')}`)
      for (const n of order) {
        const t = targets.get(n)!
        round.closed[n] = {
          nonStream: await closed(t, false, `r${r + 1} throughput non-stream ${n}`),
          stream: await closed(t, true, `r${r + 1} throughput stream ${n}`),
        }
      }
      for (const n of order) {
        const t = targets.get(n)!
        round.open[n] = {
          nonStream: await open(t, false, `r${r + 1} latency non-stream ${n}`),
          stream: await open(t, true, `r${r + 1} latency stream ${n}`),
        }
      }
      results.push(round)
    }
    alive()

    // ---- figures, per target: medians over rounds, ratios within a round
    type Kind = 'nonStream' | 'stream'
    const rps = (n: TargetName, k: Kind) => spread(results.map((x) => x.closed[n]?.[k].rps))
    const ratio = (n: TargetName, k: Kind, to: TargetName = 'direct') =>
      spread(results.map((x) => {
        const a = x.closed[n]?.[k].rps
        const b = x.closed[to]?.[k].rps
        return a !== undefined && b ? a / b : undefined
      }))
    const cpuClosed = (n: TargetName, k: Kind) => spread(results.map((x) => x.closed[n]?.[k].cpuUsPerRequest))
    const cpuOpen = (n: TargetName, k: Kind) => spread(results.map((x) => x.open[n]?.[k].cpuUsPerRequest))
    const pct = (n: TargetName, k: Kind, which: 'total' | 'ttfb', p: 'p50' | 'p99') => spread(results.map((x) => x.open[n]?.[k][which]?.[p]))
    const added = (n: TargetName, k: Kind, which: 'total' | 'ttfb', p: 'p50' | 'p99') =>
      spread(results.map((x) => {
        const g = x.open[n]?.[k][which]?.[p]
        const d = x.open.direct?.[k][which]?.[p]
        return g !== undefined && d !== undefined ? g - d : undefined
      }))
    const header = (n: TargetName, k: Kind, p: 'p50' | 'p99') => spread(results.map((x) => x.open[n]?.[k].header?.[p]))
    /** Throughput lost to observing: 1 - variant / bare, same round. */
    const observeCost = (n: TargetName, k: Kind) =>
      spread(results.map((x) => {
        const a = x.closed[n]?.[k].rps
        const b = x.closed.bare?.[k].rps
        return a !== undefined && b ? 100 * (1 - a / b) : undefined
      }))

    const failures: string[] = []
    const notes: string[] = []
    for (const x of results) {
      for (const n of names) {
        const c = x.closed[n]
        const o = x.open[n]
        for (const k of ['nonStream', 'stream'] as const) {
          const cr = c?.[k]
          const or = o?.[k]
          const problem = (what: string) => (isSwitchyard(n) ? failures : notes).push(`round ${x.round} ${n} ${what}`)
          if (cr && closedErrors(cr) > 0) problem(`throughput ${k}: ${cr.non2xx} non-2xx, ${cr.errors} errors, ${cr.timeouts} timeouts (status ${JSON.stringify(cr.statusCounts)})`)
          if (or && openErrors(or) > 0) problem(`latency ${k}: ${or.non2xx} non-2xx, ${or.errors} errors of ${or.planned} (status ${JSON.stringify(or.statusCounts)}${or.errorSamples.length ? `; e.g. ${or.errorSamples[0]}` : ''})`)
        }
      }
    }

    const sy: TargetName | undefined = names.includes('switchyard') ? 'switchyard' : names.find(isSwitchyard)
    const targetRows: Array<{ name: string; value: number | undefined; pass: boolean | undefined; aimMet?: boolean }> = []
    if (sy) {
      const rn = ratio(sy, 'nonStream')?.median
      const rs = ratio(sy, 'stream')?.median
      targetRows.push(
        { name: `throughput ratio non-stream >= ${TARGETS.ratioMin} (aim ${TARGETS.ratioAim})`, value: rn, pass: rn !== undefined ? rn >= TARGETS.ratioMin : undefined, aimMet: rn !== undefined && rn >= TARGETS.ratioAim },
        { name: `throughput ratio stream >= ${TARGETS.ratioMin} (aim ${TARGETS.ratioAim})`, value: rs, pass: rs !== undefined ? rs >= TARGETS.ratioMin : undefined, aimMet: rs !== undefined && rs >= TARGETS.ratioAim },
      )
      for (const [label, k, which] of [['non-stream', 'nonStream', 'total'], ['stream TTFB', 'stream', 'ttfb']] as const) {
        const a50 = added(sy, k, which, 'p50')?.median
        const a99 = added(sy, k, which, 'p99')?.median
        targetRows.push(
          { name: `added p50 ${label} <= ${TARGETS.addedP50MaxMs} ms @ ${params.rate} rps`, value: a50, pass: a50 !== undefined ? a50 <= TARGETS.addedP50MaxMs : undefined },
          { name: `added p99 ${label} <= ${TARGETS.addedP99MaxMs} ms @ ${params.rate} rps`, value: a99, pass: a99 !== undefined ? a99 <= TARGETS.addedP99MaxMs : undefined },
        )
      }
      if (names.includes('portkey')) {
        for (const k of ['nonStream', 'stream'] as const) {
          const v = ratio(sy, k, 'portkey')?.median
          targetRows.push({ name: `peer: throughput ${k === 'nonStream' ? 'non-stream' : 'stream'} x Portkey >= ${TARGETS.peerMin}`, value: v, pass: v !== undefined ? v >= TARGETS.peerMin : undefined })
        }
      }
      if (names.includes('bare') && names.includes('switchyard')) {
        const v = observeCost('switchyard', 'nonStream')?.median
        targetRows.push({ name: `metrics on: throughput cost non-stream < ${TARGETS.observeCostMaxPct}%`, value: v, pass: v !== undefined ? v < TARGETS.observeCostMaxPct : undefined })
      }
    }

    const meta = { ...hostMeta(pinning), hostBusyBeforePct: busyBefore ?? null, clockTicksPerSecond: CLK_TCK }

    // ---- table
    const out: string[] = []
    const rule = '-'.repeat(140)
    out.push('', `Switchyard gateway benchmark  ${meta.date}`, `node ${meta.node} | ${meta.cpu} | ${meta.cpuCount} CPUs | ${pinText}`)
    out.push(`host busy before start: ${busyText}${hostQuiet ? '' : '  << NOT QUIET: other work on this machine, figures are noisy'}`)
    out.push(`${rounds} round(s), targets interleaved (order rotated per round); figures are median [min-max] over rounds; ratios within a round`)
    for (const n of names) out.push(`  ${padR(n, 11)} ${DESCRIPTION[n]}`)
    out.push(rule)
    out.push(`Throughput, closed loop (autocannon, ${params.connections} connections, ${params.duration} s + ${CLOSED_WARMUP_S} s warm-up per run); CPU = the target process's CPU time per request served`)
    out.push(`  ${padR('', 11)}${pad('non-stream req/s', 24)}${pad('ratio', 24)}${pad('CPU µs/req', 20)}${pad('stream req/s', 24)}${pad('ratio', 24)}${pad('CPU µs/req', 20)}`)
    for (const n of names) {
      out.push(
        `  ${padR(n, 11)}${pad(sp(rps(n, 'nonStream'), 0), 24)}${pad(n === 'direct' ? '' : sp(ratio(n, 'nonStream'), 3), 24)}${pad(sp(cpuClosed(n, 'nonStream'), 0), 20)}` +
          `${pad(sp(rps(n, 'stream'), 0), 24)}${pad(n === 'direct' ? '' : sp(ratio(n, 'stream'), 3), 24)}${pad(sp(cpuClosed(n, 'stream'), 0), 20)}`,
      )
    }
    if (pinning.enabled) {
      const share = (n: TargetName) => {
        const s = results.map((x) => x.closed[n]?.nonStream.gatewayCore).filter((c): c is CoreShare => c !== undefined)
        if (!s.length) return undefined
        const m = (f: (c: CoreShare) => number) => spread(s.map(f))?.median ?? NaN
        return `${n} ${m((c) => c.processPct).toFixed(0)}/${m((c) => c.irqPct).toFixed(0)}/${m((c) => c.otherPct).toFixed(0)}`
      }
      out.push(`  core ${CORE_GATEWAY} use %, non-stream, target/irq/other (other = not ours: noise): ${names.map(share).filter(Boolean).join(', ')}`)
    }
    out.push(rule)
    out.push(`Latency, open loop (${params.rate} req/s for ${params.latencySeconds} s + ${OPEN_WARMUP_S} s warm-up, undici Pool x${POOL_CONNECTIONS}), ms from INTENDED send time; ADDED = target - direct, same round`)
    out.push(`  ${padR('', 17)}${pad('non-stream p50', 26)}${pad('p99', 26)}${pad('TTFB p50', 26)}${pad('TTFB p99', 26)}${pad('CPU µs/req n-s / s', 28)}`)
    for (const n of names) {
      const cpu = `${sp(cpuOpen(n, 'nonStream'), 0)} / ${sp(cpuOpen(n, 'stream'), 0)}`
      if (n === 'direct') {
        out.push(`  ${padR(n, 17)}${pad(sp(pct(n, 'nonStream', 'total', 'p50'), 3), 26)}${pad(sp(pct(n, 'nonStream', 'total', 'p99'), 3), 26)}${pad(sp(pct(n, 'stream', 'ttfb', 'p50'), 3), 26)}${pad(sp(pct(n, 'stream', 'ttfb', 'p99'), 3), 26)}`)
      } else {
        out.push(
          `  ${padR(`${n} ADDED`, 17)}${pad(sp(added(n, 'nonStream', 'total', 'p50'), 3), 26)}${pad(sp(added(n, 'nonStream', 'total', 'p99'), 3), 26)}` +
            `${pad(sp(added(n, 'stream', 'ttfb', 'p50'), 3), 26)}${pad(sp(added(n, 'stream', 'ttfb', 'p99'), 3), 26)}${pad(cpu, 28)}`,
        )
      }
    }
    for (const n of names.filter(isSwitchyard)) {
      out.push(`  ${n} ${OVERHEAD_HEADER}: non-stream p50 ${sp(header(n, 'nonStream', 'p50'), 3)} p99 ${sp(header(n, 'nonStream', 'p99'), 3)}; stream p50 ${sp(header(n, 'stream', 'p50'), 3)} p99 ${sp(header(n, 'stream', 'p99'), 3)}`)
    }
    const lag = spread(results.flatMap((x) => names.flatMap((n) => [x.open[n]?.nonStream.sendLag.p99, x.open[n]?.stream.sendLag.p99])))
    out.push(`  generator send lag p99, all runs: ${sp(lag, 3)} ms (included in the latencies above)`)
    if (names.includes('bare')) {
      out.push(rule)
      out.push('Cost of observing: throughput lost vs bare (metrics off, tracing off), same round, %')
      for (const n of ['switchyard', 'observed'] as const) {
        if (!names.includes(n)) continue
        out.push(`  ${padR(n, 11)} non-stream ${sp(observeCost(n, 'nonStream'), 1)}%   stream ${sp(observeCost(n, 'stream'), 1)}%   CPU µs/req non-stream ${sp(cpuClosed(n, 'nonStream'), 0)} vs bare ${sp(cpuClosed('bare', 'nonStream'), 0)}`)
      }
    }
    out.push(rule)
    out.push(`Targets (${sy ?? 'no Switchyard target'})`)
    for (const t of targetRows) {
      const verdict = t.pass === undefined ? 'n/a' : t.pass ? (t.aimMet === false ? 'PASS (below aim)' : 'PASS') : 'MISS'
      out.push(`  ${padR(t.name, 56)}${pad(f3(t.value), 10)}   ${verdict}`)
    }
    if (notes.length) out.push(`  notes (not Switchyard): ${notes.join('; ')}`)
    if (failures.length) {
      out.push('', '!'.repeat(92), '!! BENCH FAILURE: Switchyard answered non-2xx or failed requests; its figures are not valid', ...failures.map((f) => `!!   ${f}`), '!'.repeat(92))
    }
    out.push('')
    console.log(out.join('\n'))

    // ---- JSON
    const summary: Record<string, unknown> = {}
    for (const n of names) {
      summary[n] = {
        throughput: { nonStream: rps(n, 'nonStream'), stream: rps(n, 'stream') },
        ratio: n === 'direct' ? null : { nonStream: ratio(n, 'nonStream'), stream: ratio(n, 'stream') },
        cpuUsPerRequest: { closedNonStream: cpuClosed(n, 'nonStream'), closedStream: cpuClosed(n, 'stream'), openNonStream: cpuOpen(n, 'nonStream'), openStream: cpuOpen(n, 'stream') },
        latency: {
          nonStream: { p50: pct(n, 'nonStream', 'total', 'p50'), p99: pct(n, 'nonStream', 'total', 'p99') },
          ttfb: { p50: pct(n, 'stream', 'ttfb', 'p50'), p99: pct(n, 'stream', 'ttfb', 'p99') },
        },
        added: n === 'direct' ? null : {
          nonStream: { p50: added(n, 'nonStream', 'total', 'p50'), p99: added(n, 'nonStream', 'total', 'p99') },
          ttfb: { p50: added(n, 'stream', 'ttfb', 'p50'), p99: added(n, 'stream', 'ttfb', 'p99') },
        },
      }
    }
    const report = { ...meta, params, descriptions: DESCRIPTION, targets: { ...TARGETS, results: targetRows }, summary, rounds: results, failures, notes, valid: failures.length === 0 }
    writeResults('latest.json', report)
    return failures.length ? 2 : 0
  } finally {
    clearTimeout(watchdog)
    await cleanup()
  }
}

runMain('bench', main)
