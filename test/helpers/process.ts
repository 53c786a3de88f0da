// Runs the real server (dist/server.js, built by `pretest`) as a child
// process, as an operator would, for multi-instance and shutdown tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { MASTER_KEY, testEnv } from './app.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface GatewayProcess {
  url: string
  proc: ChildProcess
  output: () => string
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

interface Tap {
  teardown(fn: () => unknown): void
}

export const SERVER_JS = join(root, 'dist', 'server.js')
export const START_SH = join(root, 'scripts', 'start.sh')

/** `command` replaces `node dist/server.js` (program first), e.g. `['sh', START_SH]` for what `npm start` runs. */
export async function startGatewayProcess(t: Tap, opts: { gateway: unknown; databaseUrl: string; env?: Record<string, string | undefined>; command?: string[] }): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-proc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const configPath = join(dir, 'gateway.yaml')
  writeFileSync(configPath, stringify(opts.gateway))
  const env = { ...process.env, ...testEnv(opts.databaseUrl, { PORT: '0', LOG_LEVEL: 'info', GATEWAY_CONFIG: configPath, ...opts.env }) }
  const [program, ...args] = opts.command ?? [process.execPath, SERVER_JS]
  const proc = spawn(program!, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()))
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()))
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL')
      await exited
    }
  })
  const url = await new Promise<string>((resolve, reject) => {
    // A liveness bound, not a speed check: as long as the gateway's own plugin timeout, so a loaded machine is not a failure.
    const timer = setTimeout(() => reject(new Error(`gateway did not start within 60 s:\n${out}`)), 60_000)
    const check = () => {
      const m = /Switchyard on (http:\/\/[^\s]+?) \(/.exec(out) ?? /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    proc.stdout!.on('data', check)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited with ${code}:\n${out}`))
    })
  })
  return {
    url,
    proc,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      proc.kill(signal)
      return exited
    },
  }
}

export const masterAuth = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }
