// The per-deployment circuit breaker as a pure state machine over a small
// serialisable record, so the in-memory store and the Redis store (which
// applies it with compare-and-set) share one definition.
//
//   closed ──(failures in window, or consecutive failures)──▶ open
//   open ──(cool-down elapsed)──▶ half-open (derived: open and now >= openUntil)
//   half-open: exactly one probe request at a time holds a lease
//     probe success ──▶ closed (cool-down reset)
//     probe failure ──▶ open again, cool-down doubled up to maxCooldownMs
//     probe neutral (client error, client gone) ──▶ lease released, still half-open
//
// Only deployment faults are fed in as failures (see classify.ts).
import type { CooldownConfig } from '../config/gateway-config.js'

export interface CooldownSettings {
  enabled: boolean
  /**
   * Without traffic statistics: open after this many faults within windowMs.
   * With them (the gateway passes its own counts), the rate rule below applies.
   */
  failures: number
  /** Open when at least minRequests attempts in windowMs failed at this rate... */
  failureRate: number
  minRequests: number
  windowMs: number
  /** ...or after this many faults in a row (no success in between). */
  consecutiveFailures: number
  /** First cool-down. */
  cooldownMs: number
  /** Cool-downs double after each failed probe, up to this. */
  maxCooldownMs: number
  /** A probe holds its lease this long at most (a lost probe frees the slot after it). */
  probeLeaseMs: number
}

/**
 * Open when at least 20 attempts in 30 s failed at 50 % or more, or after 5
 * faults in a row. A rate with a minimum volume (as Hystrix-style breakers
 * do) keeps a busy deployment with a few percent of errors in service, where
 * retries hide them, while a dead one opens after five attempts.
 */
export const DEFAULT_COOLDOWN_FAILURE_RATE = 0.5
export const DEFAULT_COOLDOWN_MIN_REQUESTS = 20
export const DEFAULT_COOLDOWN_FAILURES = 5
export const DEFAULT_COOLDOWN_WINDOW_MS = 30_000
export const DEFAULT_COOLDOWN_CONSECUTIVE_FAILURES = 5
/** First cool-down: 30 s; doubled after each failed probe, up to 5 min. */
export const DEFAULT_COOLDOWN_MS = 30_000
export const DEFAULT_MAX_COOLDOWN_MS = 300_000
/** A half-open probe that reports nothing for 60 s no longer blocks the next one. */
export const DEFAULT_PROBE_LEASE_MS = 60_000

export const DEFAULT_COOLDOWN: Readonly<CooldownSettings> = Object.freeze({
  enabled: true,
  failures: DEFAULT_COOLDOWN_FAILURES,
  failureRate: DEFAULT_COOLDOWN_FAILURE_RATE,
  minRequests: DEFAULT_COOLDOWN_MIN_REQUESTS,
  windowMs: DEFAULT_COOLDOWN_WINDOW_MS,
  consecutiveFailures: DEFAULT_COOLDOWN_CONSECUTIVE_FAILURES,
  cooldownMs: DEFAULT_COOLDOWN_MS,
  maxCooldownMs: DEFAULT_MAX_COOLDOWN_MS,
  probeLeaseMs: DEFAULT_PROBE_LEASE_MS,
})

export function cooldownSettings(config?: CooldownConfig): CooldownSettings {
  const s: CooldownSettings = { ...DEFAULT_COOLDOWN }
  if (!config) return s
  if (typeof config.enabled === 'boolean') s.enabled = config.enabled
  for (const k of ['failures', 'minRequests', 'windowMs', 'consecutiveFailures', 'cooldownMs', 'maxCooldownMs'] as const) {
    const v = config[k]
    if (typeof v === 'number' && Number.isFinite(v) && v >= 1) s[k] = v
  }
  if (typeof config.failureRate === 'number' && config.failureRate > 0 && config.failureRate <= 1) s.failureRate = config.failureRate
  if (s.maxCooldownMs < s.cooldownMs) s.maxCooldownMs = s.cooldownMs
  return s
}

export interface CircuitRecord {
  /** Bumped on every change; orders updates. */
  v: number
  open: boolean
  /** Times of recent faults while closed (newest last, at most `failures` kept). */
  failures: number[]
  consecutive: number
  /** While open: epoch ms when the cool-down ends (then half-open). 0 when closed. */
  openUntil: number
  /** Length of the current (or last) cool-down; 0 when closed. */
  cooldownMs: number
  /** Half-open probe lease: epoch ms until which the probe slot is taken. 0 = free. */
  probeUntil: number
  /** Who holds the probe lease (an instance id). */
  probeOwner: string | null
  lastError: string | null
  lastFailureAt: number | null
}

export type CircuitState = 'closed' | 'open' | 'half_open'

export function closedRecord(v = 0): CircuitRecord {
  return { v, open: false, failures: [], consecutive: 0, openUntil: 0, cooldownMs: 0, probeUntil: 0, probeOwner: null, lastError: null, lastFailureAt: null }
}

/** A closed record with nothing worth remembering (it may be dropped). */
export function isPristine(rec: CircuitRecord): boolean {
  return !rec.open && rec.consecutive === 0 && rec.failures.length === 0
}

export function circuitState(rec: CircuitRecord | undefined, now: number): CircuitState {
  if (!rec || !rec.open) return 'closed'
  return now < rec.openUntil ? 'open' : 'half_open'
}

function open(rec: CircuitRecord, now: number, cooldownMs: number, error: string | null): CircuitRecord {
  return {
    v: rec.v + 1,
    open: true,
    failures: [],
    consecutive: 0,
    openUntil: now + cooldownMs,
    cooldownMs,
    probeUntil: 0,
    probeOwner: null,
    lastError: error,
    lastFailureAt: now,
  }
}

/**
 * A deployment fault. Returns the same object when nothing changes: a
 * failure reported by a request that was let through before the circuit
 * opened does not extend the cool-down; only the probe's failure does.
 */
export interface WindowCounts {
  /** Attempts that said something about the deployment, within windowMs. */
  requests: number
  failures: number
}

export function recordFailure(
  rec: CircuitRecord,
  now: number,
  s: CooldownSettings,
  opts: { probe?: boolean; error?: string | null; window?: WindowCounts } = {},
): CircuitRecord {
  const error = opts.error ?? null
  if (rec.open) {
    if (!opts.probe) return rec
    return open(rec, now, Math.min(s.maxCooldownMs, Math.max(s.cooldownMs, rec.cooldownMs * 2)), error)
  }
  const failures = [...rec.failures.filter((t) => t > now - s.windowMs), now].slice(-s.failures)
  const consecutive = rec.consecutive + 1
  const w = opts.window
  const rateTrips = w ? w.requests >= s.minRequests && w.failures / w.requests >= s.failureRate : failures.length >= s.failures
  if (rateTrips || consecutive >= s.consecutiveFailures) return open(rec, now, s.cooldownMs, error)
  return { ...rec, v: rec.v + 1, failures, consecutive, lastError: error, lastFailureAt: now }
}

/** A success. The probe's closes the circuit; others only reset the consecutive count. */
export function recordSuccess(rec: CircuitRecord, _now: number, opts: { probe?: boolean } = {}): CircuitRecord {
  if (rec.open) {
    if (!opts.probe) return rec
    return { ...closedRecord(rec.v + 1), lastError: rec.lastError, lastFailureAt: rec.lastFailureAt }
  }
  if (rec.consecutive === 0) return rec
  return { ...rec, v: rec.v + 1, consecutive: 0 }
}

/** An outcome that says nothing about the deployment: frees the probe lease if it held one. */
export function releaseProbe(rec: CircuitRecord, owner: string): CircuitRecord {
  if (!rec.open || rec.probeOwner !== owner || rec.probeUntil === 0) return rec
  return { ...rec, v: rec.v + 1, probeUntil: 0, probeOwner: null }
}

/** Takes the half-open probe slot for `owner`; undefined when it is taken (by anyone) or the circuit is not half-open. */
export function claimProbe(rec: CircuitRecord, now: number, leaseMs: number, owner: string): CircuitRecord | undefined {
  if (circuitState(rec, now) !== 'half_open') return undefined
  if (rec.probeUntil > now) return undefined
  return { ...rec, v: rec.v + 1, probeUntil: now + leaseMs, probeOwner: owner }
}

/** Extends the probe lease `owner` holds (when its probe actually starts); undefined when it holds none. */
export function extendProbe(rec: CircuitRecord, now: number, leaseMs: number, owner: string): CircuitRecord | undefined {
  if (!rec.open || rec.probeOwner !== owner || rec.probeUntil <= now) return undefined
  return { ...rec, v: rec.v + 1, probeUntil: now + leaseMs }
}

/** The reason an open circuit gives while its cool-down runs (half-open is the stores' business). */
export function coolingReason(rec: CircuitRecord | undefined, now: number): string | undefined {
  if (!rec || !rec.open) return undefined
  if (now < rec.openUntil) return `cooling down until ${new Date(rec.openUntil).toISOString()}`
  return undefined
}

/** What GET /admin/health/deployments and app.deploymentHealth report. */
export interface DeploymentHealth {
  state: CircuitState
  /** Faults within the window (closed state). */
  failures: number
  consecutiveFailures: number
  /** Epoch ms when the cool-down ends; null when closed. */
  openUntil: number | null
  /** Length of the current cool-down; 0 when closed. */
  cooldownMs: number
  /** A half-open probe is in flight. */
  probeInFlight: boolean
  lastError: string | null
  lastFailureAt: number | null
}

export function healthOf(rec: CircuitRecord | undefined, now: number, s: Pick<CooldownSettings, 'windowMs'>): DeploymentHealth {
  const r = rec ?? closedRecord()
  return {
    state: circuitState(r, now),
    failures: r.failures.filter((t) => t > now - s.windowMs).length,
    consecutiveFailures: r.consecutive,
    openUntil: r.open ? r.openUntil : null,
    cooldownMs: r.open ? r.cooldownMs : 0,
    probeInFlight: r.open && r.probeUntil > now,
    lastError: r.lastError,
    lastFailureAt: r.lastFailureAt,
  }
}

/**
 * Seconds until the first of `ids` may take traffic again, when every one of
 * them is cooling down (open or half-open with its probe taken); undefined
 * when any is not (then the request was refused for another reason).
 */
export function coolingRetryAfterMs(ids: string[], health: (id: string) => DeploymentHealth | undefined, now: number): number | undefined {
  if (ids.length === 0) return undefined
  let first = Infinity
  for (const id of ids) {
    const h = health(id)
    if (!h || h.state === 'closed' || h.openUntil === null) return undefined
    first = Math.min(first, Math.max(0, h.openUntil - now))
  }
  return first
}
