// Switchyard benchmark: what does the gateway cost compared with calling the
// upstream directly? Everything runs on loopback in child processes:
//   core 0: the mock upstream and every load generator
//   core 1: the gateway, alone
// 1. throughput, closed loop (autocannon), direct vs through the gateway
// 2. latency, open loop at a fixed rate, timed from each request's intended
//    send time (no coordinated omission), direct vs through the gateway
// Prints a table, writes bench/results/latest.json. See bench/README.md.
//
//   npm run bench
//   BENCH_DURATION=2 BENCH_LATENCY_SECONDS=2 node dist/bench/run.js
import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import type { ClosedJob, ClosedResult, Job, OpenJob } from './load-worker.js'
import type { OpenLoopResult } from './open-loop.js'
import type { CoreShare } from './host.js'
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
  pad,
  padR,
  requireBuilt,
  runMain,
  runWorker,
  SERVER_JS,
  startGateway,
  startMock,
  writeResults,
} from './stack.js'

// ---------------------------------------------------------------- settings

const POOL_CONNECTIONS = 64
const CLOSED_WARMUP_S = 1
const OPEN_WARMUP_S = 1.5
const OPEN_TIMEOUT_MS = 5_000
const MODEL = 'bench-model'
const CHAT_PATH = '/v1/chat/completions'
const OVERHEAD_HEADER = 'x-switchyard-overhead-ms'

const TARGETS = { ratioMin: 0.5, ratioAim: 0.8, addedP50MaxMs: 0.3, addedP99MaxMs: 2 }

interface Params {
  duration: number
  connections: number
  rate: number
  latencySeconds: number
  poolConnections: number
  closedWarmupSeconds: number
  openWarmupSeconds: number
  openTimeoutMs: number
}

function readParams(): Params {
  return {
    duration: intEnv('BENCH_DURATION', 10, 1, 120),
    connections: intEnv('BENCH_CONNECTIONS', 50, 1, 1000),
    rate: intEnv('BENCH_RATE', 500, 1, 20_000),
    latencySeconds: intEnv('BENCH_LATENCY_SECONDS', 10, 1, 120),
    poolConnections: POOL_CONNECTIONS,
    closedWarmupSeconds: CLOSED_WARMUP_S,
    openWarmupSeconds: OPEN_WARMUP_S,
    openTimeoutMs: OPEN_TIMEOUT_MS,
  }
}

installExitHooks('bench')

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)

// ---------------------------------------------------------------- targets

interface Target {
  url: string
  headers: Record<string, string>
}

function gatewayYaml(upstream: string): string {
  return [
    'providers:',
    `  - { name: upstream, type: openai, baseUrl: ${upstream}/v1, apiKey: sk-bench }`,
    'models:',
    `  - name: ${MODEL}`,
    '    deployments: [{ provider: upstream, model: bench-upstream }]',
    '',
  ].join('\n')
}

/** One request of each kind before any load, so a misconfiguration fails fast and clearly. */
async function preflight(name: string, t: Target, expectHeader: boolean): Promise<void> {
  for (const stream of [false, true]) {
    const res = await request(t.url, { method: 'POST', headers: t.headers, body: chatBody(stream), headersTimeout: 5_000, bodyTimeout: 5_000 })
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new HarnessError(`preflight ${name} (stream=${stream}): HTTP ${res.statusCode}: ${text.slice(0, 300)}`)
    if (stream ? !text.includes('data: [DONE]') : !text.includes('chat.completion')) throw new HarnessError(`preflight ${name} (stream=${stream}): unexpected body: ${text.slice(0, 300)}`)
    if (expectHeader && res.headers[OVERHEAD_HEADER] === undefined) log(`warning: ${name} response has no ${OVERHEAD_HEADER} header`)
  }
}

function chatBody(stream: boolean): string {
  return JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], ...(stream ? { stream: true } : {}) })
}

// ---------------------------------------------------------------- jobs

interface WithCore {
  /** The gateway's core during the job (pinned runs on Linux only). */
  gatewayCore?: CoreShare
}

/** Runs one job in a load-worker process; `gatewayPid` is the process accounted on the gateway's core meanwhile. */
async function runJob<R extends object>(job: Job, pinning: Pinning, label: string, gatewayPid: number | undefined): Promise<R & WithCore> {
  const limitS = job.kind === 'closed' ? job.duration + job.warmupSeconds + 20 : job.seconds + job.warmupSeconds + (2 * job.timeoutMs) / 1000 + 15
  log(`${label} ...`)
  const { result, gatewayCore, exitCode } = await runWorker<R>(LOAD_JS, job, { pinning, label, limitMs: limitS * 1000, gatewayPid })
  if (exitCode !== 0 && exitCode !== null) log(`warning: ${label} worker exited with ${exitCode} after its result`)
  return { ...result, ...(gatewayCore ? { gatewayCore } : {}) }
}

interface Pair<R> {
  direct: R
  gateway: R
}

// ---------------------------------------------------------------- formatting

const f3 = (n: number | null | undefined) => fmt(n, 3)

function closedErrors(r: ClosedResult): number {
  return r.non2xx + r.errors + r.timeouts
}

function openErrors(r: OpenLoopResult): number {
  return r.non2xx + r.errors
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const params = readParams()
  requireBuilt([SERVER_JS, MOCK_JS, LOAD_JS], 'bench')
  const pinning = detectPinning()
  const pinText = pinning.enabled
    ? `mock + load generators on core ${CORE_LOAD}, gateway alone on core ${CORE_GATEWAY} (taskset)`
    : `NOT PINNED: ${pinning.reason}; processes share all cores, figures are noisier`
  if (!pinning.enabled) log(`WARNING: ${pinText}`)

  // A shared machine: note how busy it is before we add anything.
  const { pct: busyBefore, text: busyText } = await busyBeforeStart()
  const hostQuiet = !busyBefore || Object.values(busyBefore).every((v) => v < 15)
  if (!hostQuiet) log(`WARNING: the machine is already busy before the bench (${busyText}); figures will be noisy`)

  // Bound the whole run: startup + every job's own limit + slack.
  const budgetS = 60 + 4 * (params.duration + CLOSED_WARMUP_S + 20) + 4 * (params.latencySeconds + OPEN_WARMUP_S + 2 * (OPEN_TIMEOUT_MS / 1000) + 15)
  const watchdog = armWatchdog('bench', budgetS)

  try {
    const dir = makeTmpDir('switchyard-bench-')
    const masterKey = `bench-${randomBytes(16).toString('hex')}`

    log('starting mock upstream')
    const mock = await startMock(pinning, 'mock upstream')
    log(`mock upstream at ${mock.origin}; starting gateway`)
    const gw = await startGateway(pinning, dir, gatewayYaml(mock.origin), masterKey)
    log(`gateway at ${gw.origin}`)

    const json = { 'content-type': 'application/json' }
    const direct: Target = { url: `${mock.origin}${CHAT_PATH}`, headers: { ...json } }
    const gateway: Target = { url: `${gw.origin}${CHAT_PATH}`, headers: { ...json, authorization: `Bearer ${masterKey}` } }
    await preflight('direct', direct, false)
    await preflight('gateway', gateway, true)

    const gatewayAlive = () => assertAlive(gw.child, 'gateway')

    // ---- throughput, closed loop
    const closed = async (t: Target, stream: boolean, label: string) => {
      gatewayAlive()
      const job: ClosedJob = { kind: 'closed', url: t.url, headers: t.headers, body: chatBody(stream), connections: params.connections, duration: params.duration, warmupSeconds: CLOSED_WARMUP_S }
      return runJob<ClosedResult>(job, pinning, label, gw.child.pid)
    }
    const tpNon: Pair<ClosedResult & WithCore> = {
      direct: await closed(direct, false, 'throughput non-stream direct'),
      gateway: await closed(gateway, false, 'throughput non-stream gateway'),
    }
    const tpStream: Pair<ClosedResult & WithCore> = {
      direct: await closed(direct, true, 'throughput stream direct'),
      gateway: await closed(gateway, true, 'throughput stream gateway'),
    }

    // ---- latency, open loop
    const open = async (t: Target, stream: boolean, label: string, viaGateway: boolean) => {
      gatewayAlive()
      const u = new URL(t.url)
      const job: OpenJob = {
        kind: 'open',
        origin: u.origin,
        path: u.pathname,
        headers: t.headers,
        body: chatBody(stream),
        rate: params.rate,
        seconds: params.latencySeconds,
        warmupSeconds: OPEN_WARMUP_S,
        connections: POOL_CONNECTIONS,
        stream,
        timeoutMs: OPEN_TIMEOUT_MS,
        ...(viaGateway ? { numericHeader: OVERHEAD_HEADER } : {}),
      }
      return runJob<OpenLoopResult>(job, pinning, label, gw.child.pid)
    }
    const latNon: Pair<OpenLoopResult & WithCore> = {
      direct: await open(direct, false, 'latency non-stream direct', false),
      gateway: await open(gateway, false, 'latency non-stream gateway', true),
    }
    const latStream: Pair<OpenLoopResult & WithCore> = {
      direct: await open(direct, true, 'latency stream direct', false),
      gateway: await open(gateway, true, 'latency stream gateway', true),
    }
    gatewayAlive()

    // ---- figures
    const ratioNon = tpNon.direct.rps > 0 ? tpNon.gateway.rps / tpNon.direct.rps : NaN
    const ratioStream = tpStream.direct.rps > 0 ? tpStream.gateway.rps / tpStream.direct.rps : NaN
    const added = (p: Pair<OpenLoopResult & WithCore>, which: 'total' | 'ttfb') => {
      const d = p.direct[which]
      const g = p.gateway[which]
      return { p50: (g?.p50 ?? NaN) - (d?.p50 ?? NaN), p90: (g?.p90 ?? NaN) - (d?.p90 ?? NaN), p99: (g?.p99 ?? NaN) - (d?.p99 ?? NaN), max: (g?.max ?? NaN) - (d?.max ?? NaN) }
    }
    const addedNon = added(latNon, 'total')
    const addedTtfb = added(latStream, 'ttfb')
    const addedStreamTotal = added(latStream, 'total')

    const failures: string[] = []
    const checkClosed = (name: string, r: ClosedResult) => {
      if (closedErrors(r) > 0) failures.push(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts (status ${JSON.stringify(r.statusCounts)})`)
    }
    const checkOpen = (name: string, r: OpenLoopResult) => {
      if (openErrors(r) > 0) failures.push(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors of ${r.planned} (status ${JSON.stringify(r.statusCounts)}${r.errorSamples.length ? `; e.g. ${r.errorSamples[0]}` : ''})`)
    }
    checkClosed('throughput non-stream gateway', tpNon.gateway)
    checkClosed('throughput stream gateway', tpStream.gateway)
    checkOpen('latency non-stream gateway', latNon.gateway)
    checkOpen('latency stream gateway', latStream.gateway)
    const directProblems: string[] = []
    if (closedErrors(tpNon.direct) + closedErrors(tpStream.direct) > 0) directProblems.push('closed-loop direct runs had errors/non-2xx')
    if (openErrors(latNon.direct) + openErrors(latStream.direct) > 0) directProblems.push('open-loop direct runs had errors/non-2xx')

    const targets = [
      { name: `throughput ratio non-stream >= ${TARGETS.ratioMin} (aim ${TARGETS.ratioAim})`, value: ratioNon, limit: TARGETS.ratioMin, pass: ratioNon >= TARGETS.ratioMin, aimMet: ratioNon >= TARGETS.ratioAim },
      { name: `throughput ratio stream >= ${TARGETS.ratioMin} (aim ${TARGETS.ratioAim})`, value: ratioStream, limit: TARGETS.ratioMin, pass: ratioStream >= TARGETS.ratioMin, aimMet: ratioStream >= TARGETS.ratioAim },
      { name: `added p50 non-stream <= ${TARGETS.addedP50MaxMs} ms @ ${params.rate} rps`, value: addedNon.p50, limit: TARGETS.addedP50MaxMs, pass: addedNon.p50 <= TARGETS.addedP50MaxMs },
      { name: `added p99 non-stream <= ${TARGETS.addedP99MaxMs} ms @ ${params.rate} rps`, value: addedNon.p99, limit: TARGETS.addedP99MaxMs, pass: addedNon.p99 <= TARGETS.addedP99MaxMs },
      { name: `added p50 stream TTFB <= ${TARGETS.addedP50MaxMs} ms @ ${params.rate} rps`, value: addedTtfb.p50, limit: TARGETS.addedP50MaxMs, pass: addedTtfb.p50 <= TARGETS.addedP50MaxMs },
      { name: `added p99 stream TTFB <= ${TARGETS.addedP99MaxMs} ms @ ${params.rate} rps`, value: addedTtfb.p99, limit: TARGETS.addedP99MaxMs, pass: addedTtfb.p99 <= TARGETS.addedP99MaxMs },
    ]

    const meta = { ...hostMeta(pinning), hostBusyBeforePct: busyBefore ?? null }

    // ---- table
    const out: string[] = []
    const rule = '-'.repeat(92)
    out.push('', `Switchyard gateway benchmark  ${meta.date}`, `node ${meta.node} | ${meta.cpu} | ${meta.cpuCount} CPUs | ${pinText}`)
    out.push(`host busy before start: ${busyText}${hostQuiet ? '' : '  << NOT QUIET: other work on this machine, figures are noisy'}`, rule)
    out.push(`Throughput, closed loop (autocannon, ${params.connections} connections, ${params.duration} s + ${CLOSED_WARMUP_S} s warm-up)`)
    out.push(`  ${padR('', 16)}${pad('direct req/s', 14)}${pad('gateway req/s', 15)}${pad('ratio', 8)}${pad('non-2xx d/g', 14)}${pad('errors d/g', 13)}${pad('gw p99 ms', 11)}`)
    for (const [name, p, ratio] of [['non-streaming', tpNon, ratioNon], ['streaming', tpStream, ratioStream]] as const) {
      out.push(
        `  ${padR(name, 16)}${pad(fmt(p.direct.rps), 14)}${pad(fmt(p.gateway.rps), 15)}${pad(f3(ratio), 8)}${pad(`${p.direct.non2xx}/${p.gateway.non2xx}`, 14)}${pad(`${p.direct.errors + p.direct.timeouts}/${p.gateway.errors + p.gateway.timeouts}`, 13)}${pad(String(p.gateway.latency.p99), 11)}`,
      )
    }
    const share = (label: string, r: WithCore) =>
      r.gatewayCore ? `${label} ${r.gatewayCore.processPct.toFixed(0)}/${r.gatewayCore.irqPct.toFixed(0)}/${r.gatewayCore.otherPct.toFixed(0)}` : `${label} n/a`
    const shareHead = `  core ${CORE_GATEWAY} use %, gateway/irq/other (other = not ours: noise)`
    if (pinning.enabled) out.push(`${shareHead}: ${[share('non-stream', tpNon.gateway), share('stream', tpStream.gateway)].join(', ')}`)
    out.push(rule)
    out.push(`Latency, open loop (${params.rate} req/s for ${params.latencySeconds} s + ${OPEN_WARMUP_S} s warm-up, undici Pool x${POOL_CONNECTIONS}), ms from INTENDED send time`)
    out.push(`  ${padR('', 26)}${pad('p50', 10)}${pad('p90', 10)}${pad('p99', 10)}${pad('max', 10)}${pad('ok/planned', 14)}${pad('errors', 8)}`)
    const row = (label: string, s: { p50: number; p90: number; p99: number; max: number } | null, r?: OpenLoopResult) =>
      out.push(`  ${padR(label, 26)}${pad(f3(s?.p50), 10)}${pad(f3(s?.p90), 10)}${pad(f3(s?.p99), 10)}${pad(f3(s?.max), 10)}${pad(r ? `${r.ok}/${r.planned}` : '', 14)}${pad(r ? String(openErrors(r)) : '', 8)}`)
    row('non-stream total  direct', latNon.direct.total, latNon.direct)
    row('                  gateway', latNon.gateway.total, latNon.gateway)
    row('                  ADDED', addedNon)
    row('stream TTFB       direct', latStream.direct.ttfb, latStream.direct)
    row('                  gateway', latStream.gateway.ttfb, latStream.gateway)
    row('                  ADDED', addedTtfb)
    row('stream total      direct', latStream.direct.total)
    row('                  gateway', latStream.gateway.total)
    row('                  ADDED', addedStreamTotal)
    out.push(
      `  gateway ${OVERHEAD_HEADER} median: non-stream ${f3(latNon.gateway.header?.p50)} (p99 ${f3(latNon.gateway.header?.p99)}), stream ${f3(latStream.gateway.header?.p50)} (p99 ${f3(latStream.gateway.header?.p99)})`,
    )
    const lags = [latNon.direct, latNon.gateway, latStream.direct, latStream.gateway]
    out.push(`  generator send lag p99 (d/g, non-stream; d/g, stream): ${lags.map((r) => f3(r.sendLag.p99)).join(' / ')} ms  (included in the latencies above)`)
    if (pinning.enabled) out.push(`${shareHead}: ${[share('non-stream', latNon.gateway), share('stream', latStream.gateway)].join(', ')}`)
    out.push(rule)
    out.push('Targets')
    for (const t of targets) {
      const verdict = t.pass ? ('aimMet' in t && !t.aimMet ? 'PASS (below aim)' : 'PASS') : 'MISS'
      out.push(`  ${padR(t.name, 52)}${pad(f3(t.value), 10)}   ${verdict}`)
    }
    if (directProblems.length) out.push(`  note: ${directProblems.join('; ')}`)
    if (failures.length) {
      out.push('', '!'.repeat(92), '!! BENCH FAILURE: the gateway answered non-2xx or failed requests; its figures are not valid', ...failures.map((f) => `!!   ${f}`), '!'.repeat(92))
    }
    out.push('')
    console.log(out.join('\n'))

    // ---- JSON
    const report = {
      ...meta,
      params,
      targets: { ...TARGETS, results: targets },
      throughput: {
        nonStream: { ...tpNon, ratio: ratioNon },
        stream: { ...tpStream, ratio: ratioStream },
      },
      latency: {
        nonStream: { ...latNon, added: addedNon },
        stream: { ...latStream, added: { ttfb: addedTtfb, total: addedStreamTotal } },
      },
      overheadHeaderMs: { nonStream: latNon.gateway.header, stream: latStream.gateway.header },
      failures,
      notes: directProblems,
      valid: failures.length === 0,
    }
    writeResults('latest.json', report)
    return failures.length ? 2 : 0
  } finally {
    clearTimeout(watchdog)
    await cleanup()
  }
}

runMain('bench', main)
