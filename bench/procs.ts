// Child-process plumbing for the benchmark: CPU pinning with taskset, reading
// a line from a child's stdout, free ports, and a registry that kills every
// child we started (by pid) however the run ends.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

export interface Pinning {
  /** True when taskset works for both cores 0 and 1. */
  enabled: boolean
  /** Why pinning is off, when it is. */
  reason?: string
}

/** Checks that `taskset -c 0` and `taskset -c 1` both run a trivial command. */
export function detectPinning(): Pinning {
  for (const core of ['0', '1']) {
    const r = spawnSync('taskset', ['-c', core, 'true'], { stdio: 'ignore', timeout: 5_000 })
    if (r.error) return { enabled: false, reason: `taskset not usable (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` }
    if (r.status !== 0) return { enabled: false, reason: `taskset -c ${core} failed (exit ${r.status}); fewer than 2 usable cores?` }
  }
  return { enabled: true }
}

const children = new Set<ChildProcess>()

export interface SpawnOptions {
  /** Core to pin to, when pinning is enabled. */
  core: number
  pinning: Pinning
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Label used in error messages. */
  label: string
}

/** Starts `node <args>` pinned to one core (or unpinned), stdout piped, stderr inherited. */
export function spawnNode(args: string[], opts: SpawnOptions): ChildProcess {
  const [cmd, argv] = opts.pinning.enabled
    ? ['taskset', ['-c', String(opts.core), process.execPath, ...args]]
    : [process.execPath, args]
  const child = spawn(cmd as string, argv as string[], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  child.once('error', () => children.delete(child))
  return child
}

/**
 * Calls `onLine` with each complete stdout line of `child` (trimmed) until it
 * returns true. Output past that point is drained unread. A child that prints
 * 16 MiB without a newline is a failure: `onOverflow` is called instead.
 */
export function readLines(child: ChildProcess, onLine: (line: string) => boolean | void, onOverflow: () => void): void {
  let buf = ''
  let done = false
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    if (done) return
    buf += chunk
    if (buf.length > 16 * 1024 * 1024) {
      done = true
      return onOverflow()
    }
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim()
      buf = buf.slice(nl + 1)
      if (onLine(line)) {
        done = true
        return
      }
    }
  })
}

/**
 * Resolves with the first stdout line matching `match`, rejecting when the
 * child exits first or `timeoutMs` passes. Keeps draining stdout afterwards.
 */
export function waitForLine(child: ChildProcess, match: (line: string) => boolean, timeoutMs: number, label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (err: Error | undefined, line?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.off('exit', onExit)
      if (err) reject(err)
      else resolve(line!)
    }
    const timer = setTimeout(() => finish(new Error(`${label}: no expected output within ${timeoutMs} ms`)), timeoutMs)
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(new Error(`${label}: exited (code ${code}, signal ${signal}) before the expected output`))
    child.once('exit', onExit)
    readLines(
      child,
      (line) => {
        if (!match(line)) return false
        finish(undefined, line)
        return true
      },
      () => finish(new Error(`${label}: too much output without the expected line`)),
    )
  })
}

/** Waits for a child to exit, up to `timeoutMs`; resolves with its exit code (null on timeout). */
export function waitExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
  })
}

/** SIGTERM one child, SIGKILL it if it is still there after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  try {
    process.kill(child.pid, 'SIGTERM')
  } catch {
    return
  }
  if ((await waitExit(child, graceMs)) === null && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {
      /* already gone */
    }
    await waitExit(child, 1_000)
  }
}

/** Stops every child still running (each by its own pid). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c)))
}

/** Last-resort synchronous kill, for process 'exit' handlers. */
export function killAllChildrenSync(): void {
  for (const c of children) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL')
      } catch {
        /* already gone */
      }
    }
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))))
    })
  })
}
