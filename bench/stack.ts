// Shared by bench/run.ts, bench/failures.ts and bench/soak.ts: starting the
// mock upstream, the gateway and load generators as (pinned) child processes,
// a temp dir that is always removed, signal handling, a watchdog, env knobs,
// the main() wrapper and a few small helpers.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { request } from 'undici'
import { measureCoreShare, sampleBusy, type CoreShare } from './host.js'
import { freePort, killAllChildrenSync, spawnNode, stopAllChildren, stopChild, waitExit, waitForLine, type Pinning } from './procs.js'
import { RESULT_MARK } from './worker-io.js'
import { gatewayNodeFlags, withGatewayEnvDefaults } from '../lib/runtime/node-flags.js'

export class HarnessError extends Error {}

const HERE = dirname(fileURLToPath(import.meta.url)) // dist/bench
export const DIST = resolve(HERE, '..')
export const ROOT = resolve(DIST, '..')
export const MOCK_JS = join(HERE, 'mock-upstream.js')
export const LOAD_JS = join(HERE, 'load-worker.js')
export const TRAFFIC_JS = join(HERE, 'traffic-worker.js')
export const SERVER_JS = join(DIST, 'server.js')
export const PORTKEY_SHIM_JS = join(HERE, 'portkey-shim.js')
export const OTLP_SINK_JS = join(HERE, 'otlp-sink.js')
export const RESULTS_DIR = join(ROOT, 'bench', 'results')

/** Mock upstreams and load generators share core 0; the gateway has core 1 to itself. */
export const CORE_LOAD = 0
export const CORE_MOCK = 0
export const CORE_GATEWAY = 1

/** Env knob with bounds; a bad value is a harness error, not a silent default. */
function boundedEnv(name: string, def: number, min: number, max: number, integer: boolean): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return def
  const n = Number(raw)
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new HarnessError(`${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}] (got ${JSON.stringify(raw)})`)
  }
  return n
}

/** Integer env knob with bounds. */
export const intEnv = (name: string, def: number, min: number, max: number) => boundedEnv(name, def, min, max, true)

/** Number env knob with bounds. */
export const numEnv = (name: string, def: number, min: number, max: number) => boundedEnv(name, def, min, max, false)

/** The compiled files a run needs; a missing one is a harness error naming the build step (`npm run <npmScript>`). */
export function requireBuilt(files: string[], npmScript: string): void {
  for (const f of files) {
    if (!existsSync(f)) throw new HarnessError(`${f} is missing: run \`npx tsc -p tsconfig.json\` (or npm run ${npmScript})`)
  }
}

// ---------------------------------------------------------------- lifecycle

let tmpDir: string | undefined
let cleaning: Promise<void> | undefined

/** The run's temp dir (YAML, SQLite files); removed by cleanup() and on exit. */
export function makeTmpDir(prefix: string): string {
  tmpDir ??= mkdtempSync(join(tmpdir(), prefix))
  return tmpDir
}

function removeTmp(): void {
  if (tmpDir) {
    rmSync(tmpDir, { recursive: true, force: true })
    tmpDir = undefined
  }
}

/** Stops every child (by pid) and removes the temp dir; idempotent. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAllChildren()
    removeTmp()
  })()
  return cleaning
}

/**
 * Installs the exit hooks: on process exit children are SIGKILLed and the temp
 * dir removed; on a signal `onSignal` runs (default: clean up and exit 130).
 */
export function installExitHooks(name: string, onSignal?: (sig: NodeJS.Signals) => void): void {
  process.on('exit', () => {
    killAllChildrenSync()
    try {
      removeTmp()
    } catch {
      /* best effort */
    }
  })
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (onSignal) return onSignal(sig)
      console.error(`\n${name}: ${sig}, stopping children and cleaning up`)
      void cleanup().finally(() => process.exit(130))
    })
  }
}

/** Aborts the run (clean up, exit 1) if it is still going after `budgetS`; clear the returned timer when done. */
export function armWatchdog(name: string, budgetS: number): NodeJS.Timeout {
  return setTimeout(() => {
    process.stderr.write(`${name}: harness exceeded its ${budgetS} s budget; aborting\n`)
    void cleanup().finally(() => process.exit(1))
  }, budgetS * 1000)
}

/**
 * Runs `main` and exits with the code it returns; a throw is a harness
 * failure: printed (a HarnessError without its stack), cleaned up, exit 1.
 */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    async (err: unknown) => {
      console.error(`\n${name}: HARNESS FAILED: ${err instanceof HarnessError ? err.message : err instanceof Error ? err.stack ?? err.message : String(err)}`)
      await cleanup().catch(() => undefined)
      process.exit(1)
    },
  )
}

// ---------------------------------------------------------------- processes

export interface Mock {
  origin: string
  child: ChildProcess
}

/** Starts `node dist/bench/mock-upstream.js 0` with extra env (e.g. MOCK_FAIL_RATE), not recording requests. */
export async function startMock(pinning: Pinning, label: string, env: Record<string, string> = {}): Promise<Mock> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env }
  // Only what we pass: no knob leaks in from the caller's shell.
  for (const k of ['MOCK_FAIL_RATE', 'MOCK_FAIL_SEED', 'MOCK_DELAY_MS']) delete childEnv[k]
  Object.assign(childEnv, { MOCK_NO_RECORD: '1' }, env)
  const child = spawnNode([MOCK_JS, '0'], { core: CORE_MOCK, pinning, label, env: childEnv })
  const origin = await waitForLine(child, (l) => /^http:\/\/127\.0\.0\.1:\d+$/.test(l), 15_000, label)
  child.stdout!.resume()
  return { origin, child }
}

export interface Gateway {
  origin: string
  child: ChildProcess
}

export interface GatewayExtra {
  /** Extra environment (e.g. OTEL_EXPORTER_OTLP_ENDPOINT). */
  env?: Record<string, string>
  /** Distinguishes the YAML and SQLite files when several gateways share `dir`. */
  fileTag?: string
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[]
}

/** Starts `node dist/server.js` (with the Node flags `npm start` adds) with `yaml` as its config, its own SQLite file in `dir`, and waits for GET /health. */
export async function startGateway(pinning: Pinning, dir: string, yaml: string, masterKey: string, label = 'gateway', extra: GatewayExtra = {}): Promise<Gateway> {
  const tag = extra.fileTag ? `-${extra.fileTag}` : ''
  const configPath = join(dir, `gateway${tag}.yaml`)
  writeFileSync(configPath, yaml)
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env }
  // Hermetic: no Redis, JWT or body-limit settings leak in from the caller's shell.
  for (const k of ['REDIS_URL', 'JWT_SECRET', 'BODY_LIMIT_BYTES']) delete env[k]
  Object.assign(env, {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: `file:${join(dir, `gateway${tag}.db`)}`,
    GATEWAY_CONFIG: configPath,
    MASTER_KEY: masterKey,
    LOG_LEVEL: 'warn',
    SHUTDOWN_GRACE_MS: '2000',
    NODE_ENV: 'production',
  })
  // Tracing only where asked for (extra.env): not inherited from the caller's shell.
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_')) delete env[k]
  Object.assign(env, extra.env ?? {})
  // cwd = the temp dir, so a developer's ./.env is not loaded.
  // The Node flags and environment defaults `npm start` would give the gateway on the CPUs it gets here (one core when pinned).
  const flags = gatewayNodeFlags(pinning.enabled ? 1 : availableParallelism())
  const child = spawnNode([...flags, ...(extra.nodeArgs ?? []), SERVER_JS], { core: CORE_GATEWAY, pinning, label, env: withGatewayEnvDefaults(env), cwd: dir })
  child.stdout!.resume() // the gateway logs to stdout; drain it
  const origin = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new HarnessError(`${label} exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`)
    try {
      const res = await request(`${origin}/health`, { headersTimeout: 1_000, bodyTimeout: 1_000 })
      await res.body.dump()
      if (res.statusCode === 200) return { origin, child }
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new HarnessError(`${label} did not answer GET /health with 200 within 30 s`)
}

/**
 * Portkey's open-source gateway (the `@portkey-ai/gateway` devDependency,
 * its Node server `build/start-server.js --headless`) on the gateway's core.
 * Requests name the upstream per request (x-portkey-provider: openai,
 * x-portkey-custom-host: the mock). Started with bench/portkey-shim.js
 * preloaded: Portkey 1.15.2 appends its headers to the upstream's fetch
 * Response, whose headers are immutable on Node 20 (`TypeError: immutable`
 * on every streamed request); the shim re-wraps each fetch Response once.
 */
export async function startPortkey(pinning: Pinning, label = 'portkey'): Promise<Gateway> {
  const script = join(ROOT, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js')
  if (!existsSync(script)) throw new HarnessError(`${script} is missing: npm install (devDependency @portkey-ai/gateway)`)
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' }
  const child = spawnNode(['--import', PORTKEY_SHIM_JS, script, `--port=${port}`, '--headless'], { core: CORE_GATEWAY, pinning, label, env, cwd: tmpDir ?? ROOT })
  child.stdout!.resume()
  const origin = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new HarnessError(`${label} exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`)
    try {
      const res = await request(`${origin}/`, { headersTimeout: 1_000, bodyTimeout: 1_000 })
      await res.body.dump()
      if (res.statusCode < 500) return { origin, child }
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new HarnessError(`${label} did not answer GET / within 30 s`)
}

/** A loopback OTLP/HTTP receiver (bench/otlp-sink.ts) on the load core: answers 200, counts bytes. */
export async function startOtlpSink(pinning: Pinning, label = 'otlp sink'): Promise<Mock> {
  const child = spawnNode([OTLP_SINK_JS], { core: CORE_LOAD, pinning, label })
  const origin = await waitForLine(child, (l) => /^http:\/\/127\.0\.0\.1:\d+$/.test(l), 15_000, label)
  child.stdout!.resume()
  return { origin, child }
}

export function assertAlive(child: ChildProcess, label: string): void {
  if (child.exitCode !== null || child.signalCode !== null) throw new HarnessError(`${label} died during the run (code ${child.exitCode}, signal ${child.signalCode})`)
}

export interface WorkerRun<R> {
  result: R
  /** How the gateway's core was used while the job ran (pinned Linux runs only). */
  gatewayCore?: CoreShare
  /** The worker's exit code after its result (null: still running after 5 s, then stopped). */
  exitCode: number | null
}

/**
 * Runs one load-generator job (`node <script> '<job json>'`) on the load core
 * and waits up to `limitMs` for its result line (see bench/worker-io.ts);
 * meanwhile accounts the gateway's core to `gatewayPid`.
 */
export async function runWorker<R>(script: string, job: object, opts: { pinning: Pinning; label: string; limitMs: number; gatewayPid: number | undefined }): Promise<WorkerRun<R>> {
  const { pinning, label } = opts
  const child = spawnNode([script, JSON.stringify(job)], { core: CORE_LOAD, pinning, label })
  try {
    // Only meaningful when the gateway has its core to itself.
    const endShare = pinning.enabled ? measureCoreShare(CORE_GATEWAY, opts.gatewayPid) : undefined
    const line = await waitForLine(child, (l) => l.startsWith(RESULT_MARK), opts.limitMs, label)
    const gatewayCore = endShare?.()
    const exitCode = await waitExit(child, 5_000)
    return { result: JSON.parse(line.slice(RESULT_MARK.length)) as R, ...(gatewayCore ? { gatewayCore } : {}), exitCode }
  } finally {
    await stopChild(child, 1_000)
  }
}

/** A loopback port nothing listens on (checked: a connect is refused). */
export async function closedPort(): Promise<number> {
  for (let i = 0; i < 5; i++) {
    const port = await freePort()
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port })
      s.once('connect', () => {
        s.destroy()
        resolve(false)
      })
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
    })
    if (refused) return port
  }
  throw new HarnessError('could not find a closed loopback port')
}

// ---------------------------------------------------------------- host

/** Per-core busy % over 1 s before the run adds anything (undefined without /proc), and as text. */
export async function busyBeforeStart(): Promise<{ pct: Record<string, number> | undefined; text: string }> {
  const pct = await sampleBusy(1_000)
  return { pct, text: pct ? Object.entries(pct).map(([c, v]) => `${c} ${v.toFixed(0)}%`).join(', ') : 'unknown' }
}

/** Resident set size of a process (VmRSS), bytes; undefined when /proc is not there or the process is gone. */
export function readRss(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m) return m[1]!.trim()
  } catch {
    /* not Linux */
  }
  return cpus()[0]?.model ?? 'unknown'
}

export function hostMeta(pinning: Pinning) {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpuModel(),
    cpuCount: cpus().length,
    platform: `${process.platform} ${process.arch}`,
    pinning: { ...pinning, mockCore: pinning.enabled ? CORE_MOCK : null, loadCore: pinning.enabled ? CORE_LOAD : null, gatewayCore: pinning.enabled ? CORE_GATEWAY : null },
  }
}

// ---------------------------------------------------------------- output

/** Writes `report` as bench/results/<fileName> and says so on stdout. */
export function writeResults(fileName: string, report: unknown): void {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, fileName)
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  console.log(`results written to ${file}`)
}

export const fmt = (n: number | null | undefined, digits = 1) => (n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits))
export const pad = (s: string, w: number) => s.padStart(w)
export const padR = (s: string, w: number) => s.padEnd(w)
