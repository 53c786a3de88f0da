// Host CPU accounting from /proc, to tell whether other work on a shared
// machine disturbed a run: per-core busy time, and a process's own CPU time.
// Everything returns undefined where /proc is unavailable (non-Linux).
import { readFileSync } from 'node:fs'

export interface CoreTicks {
  busy: number
  /** irq + softirq: mostly loopback networking, charged to no process. */
  irq: number
  total: number
}

/** Per-core cumulative ticks from /proc/stat, keyed 'cpu0', 'cpu1', ... */
export function readCoreTicks(): Map<string, CoreTicks> | undefined {
  let text: string
  try {
    text = readFileSync('/proc/stat', 'utf8')
  } catch {
    return undefined
  }
  const out = new Map<string, CoreTicks>()
  for (const line of text.split('\n')) {
    const m = /^(cpu\d+)\s+(.*)$/.exec(line)
    if (!m) continue
    // user nice system idle iowait irq softirq steal (guest is counted in user)
    const f = m[2]!.trim().split(/\s+/).slice(0, 8).map(Number)
    const total = f.reduce((a, b) => a + b, 0)
    const idle = (f[3] ?? 0) + (f[4] ?? 0)
    out.set(m[1]!, { busy: total - idle, irq: (f[5] ?? 0) + (f[6] ?? 0), total })
  }
  return out
}

/** utime + stime of a process, in the same ticks as /proc/stat. */
export function readProcTicks(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return Number(rest[11]) + Number(rest[12])
  } catch {
    return undefined
  }
}

/** Busy percentage of each core between two readings. */
export function busyPercent(a: Map<string, CoreTicks> | undefined, b: Map<string, CoreTicks> | undefined): Record<string, number> | undefined {
  if (!a || !b) return undefined
  const out: Record<string, number> = {}
  for (const [core, t1] of b) {
    const t0 = a.get(core)
    if (!t0) continue
    const dt = t1.total - t0.total
    out[core] = dt > 0 ? (100 * (t1.busy - t0.busy)) / dt : 0
  }
  return out
}

/** Per-core busy percentage over the next `ms` milliseconds. */
export async function sampleBusy(ms: number): Promise<Record<string, number> | undefined> {
  const a = readCoreTicks()
  await new Promise((r) => setTimeout(r, ms))
  return busyPercent(a, readCoreTicks())
}

/** What one core did during a job: how busy it was, and how much of that was one process. */
export interface CoreShare {
  core: string
  busyPct: number
  processPct: number
  /** Interrupt and softirq time (loopback networking, largely for the process). */
  irqPct: number
  /** Busy time neither in the process nor in interrupts: other processes on the core. */
  otherPct: number
}

/** Starts measuring `core` and process `pid`; the returned function ends the measurement. */
export function measureCoreShare(core: number, pid: number | undefined): () => CoreShare | undefined {
  const name = `cpu${core}`
  const c0 = readCoreTicks()?.get(name)
  const p0 = readProcTicks(pid)
  return () => {
    const c1 = readCoreTicks()?.get(name)
    const p1 = readProcTicks(pid)
    if (!c0 || !c1 || p0 === undefined || p1 === undefined) return undefined
    const dt = c1.total - c0.total
    if (dt <= 0) return undefined
    const busyPct = (100 * (c1.busy - c0.busy)) / dt
    const processPct = (100 * (p1 - p0)) / dt
    const irqPct = (100 * (c1.irq - c0.irq)) / dt
    return { core: name, busyPct, processPct, irqPct, otherPct: Math.max(0, busyPct - processPct - irqPct) }
  }
}
