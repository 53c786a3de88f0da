// Soak: does the gateway's memory stay flat under a long, steady, mixed load?
// Starts the mock upstream (failing MOCK_FAIL_RATE of its chat requests) and
// the gateway as pinned child processes, sends a fixed-rate mix (chat,
// streamed chat with and without stream_options, embeddings, a few client
// aborts mid-stream) for SOAK_SECONDS, and samples the gateway's resident
// memory (VmRSS from /proc/<pid>/status) every SOAK_SAMPLE_SECONDS. After a
// warm-up (the first 20 % of the run) it fits a line through the samples:
//   FLAT     |slope| < 1 MB/min AND (last - first) / first < 10 %
//   GROWING  otherwise
// Prints a table, writes bench/results/soak.json. See bench/README.md.
//
//   npm run soak
//   SOAK_SECONDS=20 SOAK_RATE=100 node dist/bench/soak.js
import { randomBytes } from 'node:crypto'
import type { ChildProcess } from 'node:child_process'
import { request } from 'undici'
import { detectPinning, readLines, spawnNode, stopChild, waitExit } from './procs.js'
import { readProcTicks } from './host.js'
import { DEFAULT_RETRY_ATTEMPTS } from '../lib/resilience/backoff.js'
import {
  armWatchdog,
  busyBeforeStart,
  cleanup,
  CORE_LOAD,
  fmt,
  HarnessError,
  hostMeta,
  installExitHooks,
  intEnv,
  makeTmpDir,
  MOCK_JS,
  numEnv,
  pad,
  padR,
  readRss,
  requireBuilt,
  runMain,
  SERVER_JS,
  startGateway,
  startMock,
  TRAFFIC_JS,
  writeResults,
} from './stack.js'
import { PROGRESS_MARK, SOAK_KINDS, SOAK_MIX, type SoakJob, type SoakProgress, type SoakResult } from './traffic-worker.js'
import { RESULT_MARK } from './worker-io.js'

const CHAT_MODEL = 'soak-model'
const EMBED_MODEL = 'soak-embed'
const WARMUP_FRACTION = 0.2
const TIMEOUT_MS = 10_000
const POOL_CONNECTIONS = 64
/** Verdict thresholds. */
const FLAT_MAX_SLOPE_MB_PER_MIN = 1
const FLAT_MAX_GROWTH_PCT = 10
/** Below this many post-warm-up samples no verdict is given. */
const MIN_SAMPLES = 3
/** Linux USER_HZ: /proc/<pid>/stat CPU times are in 1/100 s. */
const TICKS_PER_S = 100
const MB = 1024 * 1024

interface Sample {
  /** Seconds since the load started. */
  t: number
  rssMB: number
  /** V8 heap used / total, from the gateway's GET /metrics (nodejs_heap_size_*_bytes); null when not scraped. */
  heapUsedMB: number | null
  heapTotalMB: number | null
  /** Gateway CPU since the previous sample, % of one core. */
  cpuPct: number | null
  /** Requests sent / answered 2xx so far (from the load generator's last progress line). */
  sent: number
  ok: number
  /** Most requests in flight at once since the previous sample (from the load generator). */
  inflightPeak: number
  /** In the measured (post-warm-up) window. */
  measured: boolean
}

// ---------------------------------------------------------------- signals

const stop = new AbortController()
let signals = 0
installExitHooks('soak', (sig) => {
  signals++
  if (signals === 1) {
    console.error(`\nsoak: ${sig}: stopping the load early and reporting what was measured (again to abort at once)`)
    stop.abort()
    return
  }
  console.error(`\nsoak: ${sig} again: stopping children and cleaning up`)
  void cleanup().finally(() => process.exit(130))
})

/** Resolves after `ms`, or early (false) when the run is stopped. */
function sleep(ms: number): Promise<boolean> {
  if (stop.signal.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stop.signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, Math.max(0, ms))
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    stop.signal.addEventListener('abort', onAbort, { once: true })
  })
}

// ---------------------------------------------------------------- figures

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length
  if (n < 2) return NaN
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my)
    den += (xs[i]! - mx) ** 2
  }
  return den > 0 ? num / den : NaN
}

/** Reads the worker's stdout line by line: progress lines update `onProgress`, the result line resolves. */
function readWorker(child: ChildProcess, onProgress: (p: SoakProgress) => void, timeoutMs: number): Promise<SoakResult> {
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (err: Error | undefined, r?: SoakResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) reject(err)
      else resolve(r!)
    }
    const timer = setTimeout(() => finish(new HarnessError(`soak load generator: no result within ${timeoutMs / 1000} s`)), timeoutMs)
    // 'close' comes after stdout has been read to its end.
    child.once('close', (code, signal) => finish(new HarnessError(`soak load generator exited (code ${code}, signal ${signal}) without a result`)))
    readLines(
      child,
      (line) => {
        if (line.startsWith(PROGRESS_MARK)) onProgress(JSON.parse(line.slice(PROGRESS_MARK.length)) as SoakProgress)
        else if (line.startsWith(RESULT_MARK)) {
          finish(undefined, JSON.parse(line.slice(RESULT_MARK.length)) as SoakResult)
          return true
        }
      },
      () => finish(new HarnessError('soak load generator: too much output without a newline')),
    )
  })
}

/** The gateway's V8 heap from its own /metrics (loopback, prom-client's default Node metrics); undefined when metrics are off. */
async function readHeap(origin: string): Promise<{ used: number; total: number } | undefined> {
  try {
    const res = await request(`${origin}/metrics`, { headersTimeout: 2_000, bodyTimeout: 2_000 })
    const text = await res.body.text()
    if (res.statusCode !== 200) return undefined
    const used = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.e+]+)/m.exec(text)
    const total = /^nodejs_heap_size_total_bytes(?:\{[^}]*\})? ([0-9.e+]+)/m.exec(text)
    return used && total ? { used: Number(used[1]), total: Number(total[1]) } : undefined
  } catch {
    return undefined
  }
}

/** Resident memory under load must stay at or below this (issue 14). */
const RSS_MAX_MB = 200

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const params = {
    seconds: intEnv('SOAK_SECONDS', 600, 10, 3600),
    rate: intEnv('SOAK_RATE', 300, 1, 5000),
    sampleSeconds: intEnv('SOAK_SAMPLE_SECONDS', 5, 1, 60),
    failRate: numEnv('SOAK_FAIL_RATE', 0.05, 0, 1),
    cooldown: process.env.SOAK_COOLDOWN || 'tolerant',
    seed: intEnv('SOAK_SEED', 1, 0, 2 ** 31 - 1),
    warmupFraction: WARMUP_FRACTION,
    timeoutMs: TIMEOUT_MS,
    connections: POOL_CONNECTIONS,
    maxInflight: 0,
  }
  params.maxInflight = Math.max(POOL_CONNECTIONS, params.rate * 2)
  if (!['tolerant', 'default', 'off'].includes(params.cooldown)) throw new HarnessError(`SOAK_COOLDOWN must be tolerant, default or off (got ${JSON.stringify(params.cooldown)})`)
  requireBuilt([SERVER_JS, MOCK_JS, TRAFFIC_JS], 'soak')
  if (readRss(process.pid) === undefined) throw new HarnessError('/proc/<pid>/status is not readable here (Linux only): cannot sample RSS')

  // A breaker that tracks faults but does not open at the injected rate: its
  // threshold is 3x the expected faults per 1 s window (see bench/README.md).
  const expectedFaultsPerS = params.rate * 0.93 * params.failRate // chat share of the mix ~ 93 %
  const cooldownYaml =
    params.cooldown === 'tolerant'
      ? `{ failures: ${Math.max(10, Math.ceil(expectedFaultsPerS * 3) + 5)}, windowMs: 1000 }`
      : params.cooldown === 'off'
        ? '{ enabled: false }'
        : undefined

  const pinning = detectPinning()
  const pinText = pinning.enabled ? 'mock + load generator on core 0, gateway alone on core 1 (taskset)' : `NOT PINNED: ${pinning.reason}`
  if (!pinning.enabled) process.stderr.write(`soak: WARNING: ${pinText}\n`)
  const { pct: busyBefore, text: busyText } = await busyBeforeStart()

  const budgetS = 90 + params.seconds + 2 * (TIMEOUT_MS / 1000) + 30
  const watchdog = armWatchdog('soak', budgetS)

  try {
    const dir = makeTmpDir('switchyard-soak-')
    const masterKey = `soak-${randomBytes(16).toString('hex')}`
    process.stderr.write('soak: starting mock upstream and gateway\n')
    const mock = await startMock(pinning, 'mock upstream', { MOCK_FAIL_RATE: String(params.failRate) })
    const yaml = [
      'providers:',
      `  - { name: upstream, type: openai, baseUrl: ${mock.origin}/v1, apiKey: sk-soak }`,
      'models:',
      `  - name: ${CHAT_MODEL}`,
      '    deployments: [{ provider: upstream, model: soak-upstream }]',
      `  - name: ${EMBED_MODEL}`,
      '    deployments: [{ provider: upstream, model: soak-embed-upstream }]',
      ...(cooldownYaml ? ['routing:', `  cooldown: ${cooldownYaml}`] : []),
      '',
    ].join('\n')
    const gw = await startGateway(pinning, dir, yaml, masterKey)
    const pid = gw.child.pid
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${masterKey}` }

    // Preflight: one of each endpoint, so a misconfiguration fails fast.
    for (const [path, body] of [
      ['/v1/chat/completions', { model: CHAT_MODEL, messages: [{ role: 'user', content: 'hello' }] }],
      ['/v1/embeddings', { model: EMBED_MODEL, input: 'hello' }],
    ] as const) {
      const res = await request(`${gw.origin}${path}`, { method: 'POST', headers, body: JSON.stringify(body), headersTimeout: 5_000, bodyTimeout: 5_000 })
      const text = await res.body.text()
      if (res.statusCode !== 200) throw new HarnessError(`preflight ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`)
    }

    const job: SoakJob = {
      kind: 'soak',
      origin: gw.origin,
      headers,
      chatModel: CHAT_MODEL,
      embedModel: EMBED_MODEL,
      rate: params.rate,
      seconds: params.seconds,
      timeoutMs: TIMEOUT_MS,
      connections: POOL_CONNECTIONS,
      maxInflight: params.maxInflight,
      seed: params.seed,
      progressMs: 1_000,
    }
    const warmupS = params.seconds * WARMUP_FRACTION
    process.stderr.write(`soak: ${params.rate} req/s for ${params.seconds} s (warm-up ${warmupS.toFixed(0)} s), RSS every ${params.sampleSeconds} s; Ctrl-C stops early and still reports\n`)

    const idleRss = readRss(pid)
    let progress: SoakProgress = { t: 0, due: 0, sent: 0, ok: 0, non2xx: 0, errors: 0, aborted: 0, streamIncomplete: 0, dropped: 0, inflight: 0, inflightPeak: 0 }
    let peakSinceSample = 0
    const worker = spawnNode([TRAFFIC_JS, JSON.stringify(job)], { core: CORE_LOAD, pinning, label: 'soak load generator' })
    const onProgress = (p: SoakProgress) => {
      progress = p
      peakSinceSample = Math.max(peakSinceSample, p.inflightPeak)
    }
    const resultP = readWorker(worker, onProgress, (params.seconds + 2 * (TIMEOUT_MS / 1000) + 20) * 1000)
    resultP.catch(() => undefined) // awaited below; don't let an early rejection go unhandled

    // ---- sampling: t = 0, s, 2s, ... up to the end of the load
    const samples: Sample[] = []
    const t0 = performance.now()
    let lastTicks = readProcTicks(pid)
    let lastAt = t0
    let gatewayDied = false
    for (let k = 0; ; k++) {
      const t = k * params.sampleSeconds
      if (t > params.seconds + 1e-9) break
      if (k > 0 && !(await sleep(t0 + t * 1000 - performance.now()))) break
      const rss = readRss(pid)
      if (rss === undefined || gw.child.exitCode !== null || gw.child.signalCode !== null) {
        gatewayDied = true
        break
      }
      const now = performance.now()
      const ticks = readProcTicks(pid)
      const cpuPct = k > 0 && ticks !== undefined && lastTicks !== undefined ? (100 * (ticks - lastTicks)) / TICKS_PER_S / ((now - lastAt) / 1000) : null
      lastTicks = ticks
      lastAt = now
      const elapsed = (now - t0) / 1000
      const heap = await readHeap(gw.origin)
      samples.push({ t: elapsed, rssMB: rss / MB, heapUsedMB: heap ? heap.used / MB : null, heapTotalMB: heap ? heap.total / MB : null, cpuPct, sent: progress.sent, ok: progress.ok, inflightPeak: peakSinceSample, measured: elapsed >= warmupS - 1e-6 })
      peakSinceSample = progress.inflight
      if (k % Math.max(1, Math.round(30 / params.sampleSeconds)) === 0 || t + params.sampleSeconds > params.seconds) {
        process.stderr.write(`soak: t=${elapsed.toFixed(0)}s rss=${(rss / MB).toFixed(1)} MB sent=${progress.sent} 2xx=${progress.ok} non-2xx=${progress.non2xx} errors=${progress.errors}\n`)
      }
    }
    const interrupted = stop.signal.aborted
    if (interrupted || gatewayDied) {
      try {
        if (worker.pid !== undefined && worker.exitCode === null) process.kill(worker.pid, 'SIGTERM')
      } catch {
        /* gone */
      }
    }
    let result: SoakResult | undefined
    let workerProblem: string | undefined
    try {
      result = await resultP
    } catch (err) {
      workerProblem = (err as Error).message
    }
    await waitExit(worker, 2_000)
    await stopChild(worker, 1_000)
    // After the load has drained: informative only, not part of the verdict.
    await sleep(1_000)
    const afterRss = readRss(pid)
    if (gw.child.exitCode !== null || gw.child.signalCode !== null) gatewayDied = true

    // ---- figures
    const post = samples.filter((s) => s.measured)
    const first = post[0]
    const last = post[post.length - 1]
    const slopeMBperMin = slope(post.map((s) => s.t / 60), post.map((s) => s.rssMB))
    const growthPct = first && last ? (100 * (last.rssMB - first.rssMB)) / first.rssMB : NaN
    const heapPost = post.filter((s) => s.heapUsedMB !== null)
    const heapSlopeMBperMin = heapPost.length >= MIN_SAMPLES ? slope(heapPost.map((s) => s.t / 60), heapPost.map((s) => s.heapUsedMB!)) : NaN
    const heapTotalSlopeMBperMin = heapPost.length >= MIN_SAMPLES ? slope(heapPost.map((s) => s.t / 60), heapPost.map((s) => s.heapTotalMB!)) : NaN
    const windowS = first && last ? last.t - first.t : 0
    let verdict: 'FLAT' | 'GROWING' | 'INCONCLUSIVE'
    if (post.length < MIN_SAMPLES || !Number.isFinite(slopeMBperMin)) verdict = 'INCONCLUSIVE'
    else verdict = Math.abs(slopeMBperMin) < FLAT_MAX_SLOPE_MB_PER_MIN && growthPct < FLAT_MAX_GROWTH_PCT ? 'FLAT' : 'GROWING'
    const notes: string[] = []
    if (windowS < 120) notes.push(`measured window only ${windowS.toFixed(0)} s: a slope over less than 2 minutes mostly reflects GC timing, not a trend`)
    if (interrupted) notes.push('interrupted: stopped early by a signal')
    if (gatewayDied) notes.push('THE GATEWAY EXITED DURING THE RUN')
    if (workerProblem) notes.push(`load generator: ${workerProblem}`)
    const rssValues = post.map((s) => s.rssMB)
    const memory = {
      idleBeforeLoadMB: idleRss !== undefined ? idleRss / MB : null,
      startOfMeasurementMB: first?.rssMB ?? null,
      startOfMeasurementAtS: first?.t ?? null,
      minMB: rssValues.length ? Math.min(...rssValues) : null,
      maxMB: rssValues.length ? Math.max(...rssValues) : null,
      lastMB: last?.rssMB ?? null,
      afterDrainMB: afterRss !== undefined ? afterRss / MB : null,
      slopeMBperMin,
      growthPct,
      heapUsedSlopeMBperMin: heapSlopeMBperMin,
      heapTotalSlopeMBperMin: heapTotalSlopeMBperMin,
      heapUsedMinMB: heapPost.length ? Math.min(...heapPost.map((s) => s.heapUsedMB!)) : null,
      heapUsedMaxMB: heapPost.length ? Math.max(...heapPost.map((s) => s.heapUsedMB!)) : null,
      rssMaxTargetMB: RSS_MAX_MB,
      rssWithinTarget: rssValues.length ? Math.max(...rssValues) <= RSS_MAX_MB : null,
      postWarmupSamples: post.length,
      measuredWindowSeconds: windowS,
      verdict,
      criterion: `FLAT when |slope| < ${FLAT_MAX_SLOPE_MB_PER_MIN} MB/min and (last - first) / first < ${FLAT_MAX_GROWTH_PCT}% over the post-warm-up samples (at least ${MIN_SAMPLES}); else GROWING`,
    }
    // With one deployment, retries cannot hide a request whose every attempt
    // drew an injected failure: about failRate^(retries + 1) of chat requests.
    const chatSent = result ? result.byKind.chat.sent + result.byKind.stream.sent + result.byKind.stream_usage.sent + result.byKind.abort.sent : 0
    const expectedNon2xx = chatSent * params.failRate ** (DEFAULT_RETRY_ATTEMPTS + 1)
    const non2xxAllowance = Math.ceil(3 * expectedNon2xx + 3)
    const excessNon2xx = result && params.cooldown !== 'default' && result.non2xx > non2xxAllowance
    const gatewayFaults = result ? result.errors + result.streamIncomplete + (excessNon2xx ? result.non2xx : 0) : 0
    const meta = hostMeta(pinning)

    // ---- table
    const rule = '-'.repeat(96)
    const out: string[] = ['', `Switchyard soak  ${meta.date}`, `node ${meta.node} | ${meta.cpu} | ${meta.cpuCount} CPUs | ${pinText}`, `host busy before start: ${busyText}`, rule]
    const mix = SOAK_MIX.map(([k, upTo], i) => `${k} ${Math.round((upTo - (i ? SOAK_MIX[i - 1]![1] : 0)) * 100)}%`).join(', ')
    out.push(`Load: ${params.rate} req/s for ${params.seconds} s, seed ${params.seed}; mix ${mix}`)
    out.push(`Mock upstream fails ${+(params.failRate * 100).toFixed(2)}% of chat requests (500, every-k-th); gateway cooldown: ${params.cooldown}${cooldownYaml ? ` (routing.cooldown: ${cooldownYaml})` : ' (gateway defaults)'}`)
    out.push(rule)
    out.push(`Gateway RSS (VmRSS), MB; warm-up = first ${WARMUP_FRACTION * 100}% (${warmupS.toFixed(0)} s), then ${post.length} samples every ${params.sampleSeconds} s over ${windowS.toFixed(0)} s`)
    out.push(`  ${padR('idle before load', 34)}${pad(fmt(memory.idleBeforeLoadMB), 10)}`)
    out.push(`  ${padR(`start of measurement (t=${fmt(memory.startOfMeasurementAtS, 0)} s)`, 34)}${pad(fmt(memory.startOfMeasurementMB), 10)}`)
    out.push(`  ${padR('min / max / last', 34)}${pad(`${fmt(memory.minMB)} / ${fmt(memory.maxMB)} / ${fmt(memory.lastMB)}`, 24)}`)
    out.push(`  ${padR('after the load drained (info)', 34)}${pad(fmt(memory.afterDrainMB), 10)}`)
    out.push(`  ${padR('slope (least squares)', 34)}${pad(`${fmt(slopeMBperMin, 3)} MB/min`, 16)}`)
    out.push(`  ${padR('growth last vs start', 34)}${pad(Number.isFinite(growthPct) ? `${growthPct >= 0 ? '+' : ''}${fmt(growthPct, 2)}%` : 'n/a', 10)}`)
    out.push(`  ${padR(`max under load <= ${RSS_MAX_MB} MB`, 34)}${pad(memory.rssWithinTarget === null ? 'n/a' : memory.rssWithinTarget ? 'PASS' : 'MISS', 10)}`)
    out.push(`  ${padR('V8 heap used min / max, MB', 34)}${pad(`${fmt(memory.heapUsedMinMB)} / ${fmt(memory.heapUsedMaxMB)}`, 24)}   (GET /metrics nodejs_heap_size_used_bytes)`)
    out.push(`  ${padR('heap used slope / total slope', 34)}${pad(`${fmt(heapSlopeMBperMin, 3)} / ${fmt(heapTotalSlopeMBperMin, 3)} MB/min`, 24)}`)
    out.push(`  ${padR('VERDICT', 34)}${pad(verdict, 10)}   (${memory.criterion})`)
    out.push(rule)
    if (result) {
      out.push(
        `Requests: due ${result.due}, sent ${result.sent}, 2xx ${result.ok}, non-2xx ${result.non2xx}, errors ${result.errors}, client aborts (intended) ${result.aborted}, ` +
          `streams without [DONE] ${result.streamIncomplete}, dropped (>${params.maxInflight} in flight) ${result.dropped}; achieved ${fmt(result.achievedRate)} req/s`,
      )
      out.push(
        `  non-2xx expected ~${fmt(expectedNon2xx)} (one deployment: all ${DEFAULT_RETRY_ATTEMPTS + 1} attempts failing, ${params.failRate}^${DEFAULT_RETRY_ATTEMPTS + 1} of ${chatSent} chat requests; flagged above ${non2xxAllowance}${params.cooldown === 'default' ? ', not checked with SOAK_COOLDOWN=default' : ''})`,
      )
      out.push(`  ${padR('kind', 14)}${pad('sent', 9)}${pad('2xx', 9)}${pad('non-2xx', 9)}${pad('errors', 8)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}`)
      for (const k of SOAK_KINDS) {
        const r = result.byKind[k]
        out.push(`  ${padR(k, 14)}${pad(String(r.sent), 9)}${pad(String(r.ok), 9)}${pad(String(r.non2xx), 9)}${pad(String(r.errors), 8)}${pad(fmt(r.p50, 2), 9)}${pad(fmt(r.p99, 2), 9)}`)
      }
      out.push('  (latency: from send to end of body, 2xx only, +-2%; abort: streams the client dropped after the first chunk, counted as aborts, not 2xx)')
      if (result.non2xxSamples.length) out.push(`  non-2xx e.g. ${result.non2xxSamples[0]}`)
      if (result.errorSamples.length) out.push(`  errors e.g. ${result.errorSamples[0]}`)
    } else {
      out.push('Requests: no result from the load generator')
    }
    out.push(rule)
    // At most ~20 rows; all samples are in the JSON.
    const every = Math.max(1, Math.ceil(samples.length / 20))
    out.push(`Samples${every > 1 ? ` (every ${every}th; all in the JSON)` : ''}:  ${padR('t s', 8)}${pad('RSS MB', 9)}${pad('heap MB', 9)}${pad('CPU %', 8)}${pad('sent', 9)}${pad('peak in flight', 16)}`)
    samples.forEach((s, i) => {
      if (i % every === 0 || i === samples.length - 1) out.push(`          ${s.measured ? ' ' : 'w'} ${padR(s.t.toFixed(1), 8)}${pad(s.rssMB.toFixed(1), 9)}${pad(fmt(s.heapUsedMB), 9)}${pad(fmt(s.cpuPct, 0), 8)}${pad(String(s.sent), 9)}${pad(String(s.inflightPeak), 16)}`)
    })
    out.push('          (w = warm-up, not in the verdict; CPU % of one core and peak requests in flight since the previous sample)')
    for (const n of notes) out.push(`note: ${n}`)
    if (gatewayFaults > 0)
      out.push(
        '',
        '!'.repeat(96),
        `!! the gateway let failures through: ${result!.non2xx} non-2xx${excessNon2xx ? ` (more than the ${non2xxAllowance} retries cannot hide)` : ' (within what retries cannot hide)'}, ${result!.errors} errors, ${result!.streamIncomplete} streams without [DONE]`,
        '!'.repeat(96),
      )
    out.push('')
    console.log(out.join('\n'))

    const report = {
      ...meta,
      hostBusyBeforePct: busyBefore ?? null,
      params,
      cooldownYaml: cooldownYaml ?? null,
      memory,
      requests: result ? { ...result, expectedNon2xx, non2xxAllowance, excessNon2xx: !!excessNon2xx } : null,
      samples,
      notes,
      interrupted,
      gatewayDied,
    }
    writeResults('soak.json', report)
    if (interrupted) return 130
    if (gatewayDied || !result) return 1
    return verdict === 'GROWING' || gatewayFaults > 0 ? 2 : 0
  } finally {
    clearTimeout(watchdog)
    await cleanup()
  }
}

runMain('soak', main)
