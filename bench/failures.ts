// Failure scenario: does the gateway hide a failing deployment from clients?
// Two mock upstreams (one healthy, one failing a fraction of its chat
// requests with a 500), one model with two deployments (the flaky one first,
// strategy `model`), closed-loop load through the gateway. Reported per
// variant: client-visible success rate (target 100 %: one healthy deployment
// remains), req/s, p50/p99 latency, the x-switchyard-attempts distribution
// and which deployment answered. Each variant gets a fresh gateway (circuit
// breaker state is in memory) and a fresh flaky mock. See bench/README.md.
//
//   npm run bench:failures
//   BENCH_DURATION=3 node dist/bench/failures.js
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { detectPinning, stopChild, type Pinning } from './procs.js'
import type { CoreShare } from './host.js'
import {
  armWatchdog,
  assertAlive,
  busyBeforeStart,
  cleanup,
  closedPort,
  CORE_GATEWAY,
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
  requireBuilt,
  runMain,
  runWorker,
  SERVER_JS,
  startGateway,
  startMock,
  TRAFFIC_JS,
  writeResults,
  type Mock,
} from './stack.js'
import type { ClosedHeadersJob, ClosedHeadersResult } from './traffic-worker.js'

const MODEL = 'bench-model'
const WARM_MODEL = 'warm-model'
const CHAT_PATH = '/v1/chat/completions'
const WARMUP_S = 1
const TIMEOUT_MS = 10_000

type Upstream = 'flaky' | 'healthy' | 'dead'

interface Variant {
  name: string
  description: string
  /** What the first deployment points at. */
  first: Upstream
  /** routing.cooldown in the YAML (undefined: the gateway's defaults). */
  cooldown?: string
}

function variants(failRate: number): Variant[] {
  const pct = `${+(failRate * 100).toFixed(2)}%`
  return [
    { name: 'baseline', description: 'both deployments healthy (reference)', first: 'healthy' },
    { name: 'flaky', description: `first deployment fails ${pct}, gateway defaults (retries + cooldown)`, first: 'flaky' },
    { name: 'flaky-nocooldown', description: `first deployment fails ${pct}, cooldown disabled (retries only)`, first: 'flaky', cooldown: '{ enabled: false }' },
    { name: 'dead', description: 'first deployment down (closed port), gateway defaults: fallback + cooldown', first: 'dead' },
  ]
}

/** Deployment id of the first (flaky / dead / healthy) deployment. */
const firstId = (v: Pick<Variant, 'first'>) => `first-${v.first}`

function yamlFor(v: Variant, firstUrl: string, healthyUrl: string): string {
  return [
    'providers:',
    `  - { name: first, type: openai, baseUrl: ${firstUrl}/v1, apiKey: sk-bench }`,
    `  - { name: healthy, type: openai, baseUrl: ${healthyUrl}/v1, apiKey: sk-bench }`,
    'models:',
    `  - name: ${MODEL}`,
    '    deployments:',
    `      - { provider: first, model: bench-upstream, id: ${firstId(v)} }`,
    '      - { provider: healthy, model: bench-upstream, id: healthy }',
    // Warm-up traffic goes here, so it does not touch the first deployment's circuit.
    `  - name: ${WARM_MODEL}`,
    '    deployments: [{ provider: healthy, model: bench-upstream, id: warm }]',
    'routing:',
    '  strategy: model',
    ...(v.cooldown ? [`  cooldown: ${v.cooldown}`] : []),
    '',
  ].join('\n')
}

const chatBody = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] })

interface VariantResult extends ClosedHeadersResult {
  variant: string
  description: string
  yaml: string
  /** Attempts bucketed as asked: 1, 2, 3 or more, and responses without the header. */
  attemptBuckets: { '1': number; '2': number; '3+': number; none: number }
  /** Id of the first (flaky / dead) deployment. */
  firstDeployment: string
  /** Share of 2xx answered by the first deployment. */
  firstDeploymentShare: number
  pass: boolean
  /** How the gateway's core was used during the measured run (pinned Linux runs only). */
  gatewayCore?: CoreShare
}

function bucketAttempts(raw: Record<string, number>): VariantResult['attemptBuckets'] {
  const out = { '1': 0, '2': 0, '3+': 0, none: 0 }
  for (const [k, n] of Object.entries(raw)) {
    const a = Number(k)
    if (!Number.isFinite(a)) out.none += n
    else if (a <= 1) out['1'] += n
    else if (a === 2) out['2'] += n
    else out['3+'] += n
  }
  return out
}

async function runVariant(v: Variant, pinning: Pinning, healthy: Mock, masterKey: string, params: { duration: number; connections: number; failRate: number }): Promise<VariantResult> {
  const dir = join(makeTmpDir('switchyard-failures-'), v.name)
  mkdirSync(dir, { recursive: true })
  let flaky: Mock | undefined
  let firstUrl: string
  if (v.first === 'flaky') {
    flaky = await startMock(pinning, `flaky mock (${v.name})`, { MOCK_FAIL_RATE: String(params.failRate) })
    firstUrl = flaky.origin
  } else if (v.first === 'dead') {
    firstUrl = `http://127.0.0.1:${await closedPort()}`
  } else {
    firstUrl = healthy.origin
  }
  const yaml = yamlFor(v, firstUrl, healthy.origin)
  const gw = await startGateway(pinning, dir, yaml, masterKey, `gateway (${v.name})`)
  const label = `failures ${v.name}`
  try {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${masterKey}` }
    // Preflight through the model that avoids the first deployment, so a
    // misconfiguration fails fast without tripping its circuit.
    const pre = await request(`${gw.origin}${CHAT_PATH}`, { method: 'POST', headers, body: chatBody(WARM_MODEL), headersTimeout: 5_000, bodyTimeout: 5_000 })
    const preText = await pre.body.text()
    if (pre.statusCode !== 200) throw new HarnessError(`preflight ${v.name}: HTTP ${pre.statusCode}: ${preText.slice(0, 300)}`)

    const job: ClosedHeadersJob = {
      kind: 'closed-headers',
      origin: gw.origin,
      path: CHAT_PATH,
      headers,
      body: chatBody(MODEL),
      connections: params.connections,
      seconds: params.duration,
      timeoutMs: TIMEOUT_MS,
      warmup: { body: chatBody(WARM_MODEL), seconds: WARMUP_S },
    }
    process.stderr.write(`failures: ${v.name}: ${v.description} ...\n`)
    // The core share covers warm-up + measured run: both are ours.
    const limitMs = (params.duration + WARMUP_S + 2 * (TIMEOUT_MS / 1000) + 20) * 1000
    const { result: r, gatewayCore } = await runWorker<ClosedHeadersResult>(TRAFFIC_JS, job, { pinning, label, limitMs, gatewayPid: gw.child.pid })
    assertAlive(gw.child, `gateway (${v.name})`)
    const firstAnswered = r.deployments[firstId(v)] ?? 0
    return {
      variant: v.name,
      description: v.description,
      yaml,
      ...r,
      attemptBuckets: bucketAttempts(r.attempts),
      firstDeployment: firstId(v),
      firstDeploymentShare: r.ok > 0 ? firstAnswered / r.ok : NaN,
      pass: r.completed > 0 && r.ok === r.completed,
      ...(gatewayCore ? { gatewayCore } : {}),
    }
  } finally {
    await stopChild(gw.child)
    if (flaky) await stopChild(flaky.child)
  }
}

async function main(): Promise<number> {
  const params = {
    duration: intEnv('BENCH_DURATION', 10, 1, 120),
    connections: intEnv('BENCH_CONNECTIONS', 50, 1, 1000),
    failRate: numEnv('BENCH_FAIL_RATE', 0.1, 0, 1),
    warmupSeconds: WARMUP_S,
    timeoutMs: TIMEOUT_MS,
  }
  const all = variants(params.failRate)
  const wanted = (process.env.BENCH_FAILURE_VARIANTS ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  for (const w of wanted) if (!all.some((v) => v.name === w)) throw new HarnessError(`BENCH_FAILURE_VARIANTS: unknown variant ${JSON.stringify(w)} (known: ${all.map((v) => v.name).join(', ')})`)
  const chosen = wanted.length ? all.filter((v) => wanted.includes(v.name)) : all
  requireBuilt([SERVER_JS, MOCK_JS, TRAFFIC_JS], 'bench:failures')
  const pinning = detectPinning()
  const pinText = pinning.enabled ? 'mocks + load generator on core 0, gateway alone on core 1 (taskset)' : `NOT PINNED: ${pinning.reason}`
  if (!pinning.enabled) process.stderr.write(`failures: WARNING: ${pinText}\n`)
  const { pct: busyBefore, text: busyText } = await busyBeforeStart()

  // Bound the whole run: per variant start-up + job limit, plus slack.
  const budgetS = 30 + chosen.length * (45 + params.duration + WARMUP_S + 2 * (TIMEOUT_MS / 1000) + 20)
  const watchdog = armWatchdog('failures', budgetS)

  try {
    const masterKey = `bench-${randomBytes(16).toString('hex')}`
    const healthy = await startMock(pinning, 'healthy mock')
    const results: VariantResult[] = []
    for (const v of chosen) {
      assertAlive(healthy.child, 'healthy mock')
      results.push(await runVariant(v, pinning, healthy, masterKey, params))
    }

    const meta = hostMeta(pinning)
    const rule = '-'.repeat(112)
    const out: string[] = ['', `Switchyard failure scenario  ${meta.date}`, `node ${meta.node} | ${meta.cpu} | ${meta.cpuCount} CPUs | ${pinText}`]
    out.push(`host busy before start: ${busyText}`, rule)
    out.push(
      `Closed loop, ${params.connections} connections, ${params.duration} s per variant (+ ${WARMUP_S} s warm-up on a healthy-only model); model ${MODEL}: [first, healthy], strategy model`,
    )
    out.push(
      `  ${padR('variant', 18)}${pad('success', 10)}${pad('ok/total', 15)}${pad('req/s', 9)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('att 1', 8)}${pad('att 2', 7)}${pad('att 3+', 8)}${pad('1st depl', 10)}${pad('target', 9)}`,
    )
    for (const r of results) {
      const b = r.attemptBuckets
      out.push(
        `  ${padR(r.variant, 18)}${pad(`${fmt(r.successRate * 100, 2)}%`, 10)}${pad(`${r.ok}/${r.completed}`, 15)}${pad(fmt(r.rps), 9)}${pad(fmt(r.latency.p50, 2), 9)}${pad(fmt(r.latency.p99, 2), 9)}${pad(String(b['1']), 8)}${pad(String(b['2']), 7)}${pad(String(b['3+']), 8)}${pad(`${fmt(r.firstDeploymentShare * 100)}%`, 10)}${pad(r.pass ? 'PASS' : 'MISS', 9)}`,
      )
    }
    out.push('  success = 2xx / completed (target 100 %); att n = responses with x-switchyard-attempts n; 1st depl = share of 2xx answered by the first deployment')
    out.push('  latency: closed loop, send to end of body, 2xx only (indicative); every variant:')
    for (const r of results) {
      const raw = Object.entries(r.attempts).sort(([a], [b]) => Number(a) - Number(b)).map(([k, n]) => `${k}:${n}`).join(' ')
      const retriedSeconds = r.timeline.filter((s) => s.retried > 0).map((s) => s.s)
      const firstSeconds = r.timeline.filter((s) => (s.byDeployment[r.firstDeployment] ?? 0) > 0).map((s) => s.s)
      out.push(`    ${padR(r.variant, 18)} ${r.description}`)
      out.push(`    ${padR('', 18)} attempts ${raw || 'n/a'}; retried responses in seconds ${spans(retriedSeconds)}; first deployment answered in seconds ${spans(firstSeconds)}`)
      const c = r.gatewayCore
      if (c) out.push(`    ${padR('', 18)} core ${CORE_GATEWAY} use: gateway ${c.processPct.toFixed(0)}% / irq ${c.irqPct.toFixed(0)}% / other ${c.otherPct.toFixed(0)}%${c.otherPct > 10 ? '  << other work on the gateway core: req/s and latency are noisy' : ''}`)
      if (!r.pass) out.push(`    ${padR('', 18)} !! ${r.non2xx} non-2xx, ${r.errors} errors (status ${JSON.stringify(r.statusCounts)})${r.non2xxSamples[0] ? `; e.g. ${r.non2xxSamples[0]}` : ''}${r.errorSamples[0] ? `; e.g. ${r.errorSamples[0]}` : ''}`)
    }
    const misses = results.filter((r) => !r.pass)
    if (misses.length) out.push('', '!'.repeat(112), `!! FAILURES VISIBLE TO CLIENTS in ${misses.map((r) => r.variant).join(', ')}: the gateway did not hide the failing deployment`, '!'.repeat(112))
    out.push('')
    console.log(out.join('\n'))

    const report = { ...meta, hostBusyBeforePct: busyBefore ?? null, params, variants: results, valid: misses.length === 0 }
    writeResults('failures.json', report)
    return misses.length ? 2 : 0
  } finally {
    clearTimeout(watchdog)
    await cleanup()
  }
}

/** [0,1,2,5,6] -> "0-2, 5-6"; "none" when empty. */
function spans(seconds: number[]): string {
  if (!seconds.length) return 'none'
  const out: string[] = []
  let a = seconds[0]!
  let b = a
  for (const s of seconds.slice(1)) {
    if (s === b + 1) b = s
    else {
      out.push(a === b ? `${a}` : `${a}-${b}`)
      a = b = s
    }
  }
  out.push(a === b ? `${a}` : `${a}-${b}`)
  return out.join(', ')
}

installExitHooks('failures')
runMain('failures', main)
