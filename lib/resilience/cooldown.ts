// Where circuit-breaker state lives. The routing decision only ever reads this
// process's memory (synchronously); outcomes are written behind it.
//
// - MemoryCooldownStore: one process; state in a Map.
// - RedisCooldownStore: several instances. The state of each deployment is
//   one JSON record in Redis (key with a TTL), changed only through an atomic
//   compare-and-set script that also publishes the new record; every instance
//   subscribes and keeps a local copy, so a circuit opened by instance A is
//   skipped by instance B as soon as the message arrives (a millisecond or
//   so). The half-open probe slot is a lease in the same record, taken with the
//   same compare-and-set, so exactly one instance probes at a time. Since the
//   routing decision must not wait on Redis, an instance that finds a
//   half-open deployment without a probe asks for the slot in the background
//   and skips it meanwhile; the request that follows uses the slot if it won.
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import {
  circuitState,
  claimProbe,
  closedRecord,
  coolingReason,
  DEFAULT_COOLDOWN,
  extendProbe,
  healthOf,
  isPristine,
  recordFailure,
  type WindowCounts,
  recordSuccess,
  releaseProbe,
  type CircuitRecord,
  type CooldownSettings,
  type DeploymentHealth,
} from './circuit.js'

/** retryAt (epoch ms): the end of the cool-down; `now` while a half-open probe is in flight. */
export type Admission = { ok: true; probe: boolean } | { ok: false; reason: string; retryAt: number }

/** success: the deployment answered. failure: a deployment fault. neutral: neither (client error, client gone). */
export type AttemptOutcome = 'success' | 'failure' | 'neutral'

export interface RecordOptions {
  /** The attempt was the half-open probe admitted by admit(). */
  probe?: boolean
  error?: string | null
  now?: number
  /** This instance's recent attempt counts for the deployment (for the rate rule). */
  window?: WindowCounts
}

export interface CooldownStore {
  /** For the planner: a reason when the deployment must not get traffic now. Synchronous, local state only. */
  unavailable(id: string, now?: number): string | undefined
  /** Right before an attempt: lets it through (taking the probe slot when half-open) or refuses it. Synchronous. */
  admit(id: string, now?: number): Admission
  /** An attempt's outcome. Never blocks routing; the promise is for tests and shutdown. */
  record(id: string, outcome: AttemptOutcome, opts?: RecordOptions): Promise<void>
  health(id: string, now?: number): DeploymentHealth
  /** The breaker's settings in force (they follow routing reloads). */
  settings(): CooldownSettings
  close(): Promise<void>
}

const PROBE_IN_FLIGHT = 'half-open: a probe request is in flight'

/** Bound on remembered deployments (pattern routes let clients invent deployment ids). */
export const MAX_COOLDOWN_ENTRIES = 10_000

export class MemoryCooldownStore implements CooldownStore {
  private readonly records = new Map<string, CircuitRecord>()
  private readonly owner = 'local'

  constructor(readonly settings: () => CooldownSettings = () => DEFAULT_COOLDOWN) {}

  unavailable(id: string, now = Date.now()): string | undefined {
    if (!this.settings().enabled) return undefined
    const rec = this.records.get(id)
    const cooling = coolingReason(rec, now)
    if (cooling) return cooling
    if (rec && circuitState(rec, now) === 'half_open' && rec.probeUntil > now) return PROBE_IN_FLIGHT
    return undefined
  }

  admit(id: string, now = Date.now()): Admission {
    const s = this.settings()
    const rec = this.records.get(id)
    if (!s.enabled || !rec) return { ok: true, probe: false }
    const state = circuitState(rec, now)
    if (state === 'closed') return { ok: true, probe: false }
    if (state === 'open') return { ok: false, reason: coolingReason(rec, now)!, retryAt: rec.openUntil }
    const claimed = claimProbe(rec, now, s.probeLeaseMs, this.owner)
    // The probe may finish any moment: no better estimate than now.
    if (!claimed) return { ok: false, reason: PROBE_IN_FLIGHT, retryAt: now }
    this.records.set(id, claimed)
    return { ok: true, probe: true }
  }

  async record(id: string, outcome: AttemptOutcome, opts: RecordOptions = {}): Promise<void> {
    const s = this.settings()
    if (!s.enabled) return
    const now = opts.now ?? Date.now()
    const rec = this.records.get(id) ?? closedRecord()
    const next = transition(rec, outcome, now, s, opts, this.owner)
    if (next === rec) return
    if (isPristine(next)) {
      this.records.delete(id)
      return
    }
    if (!this.records.has(id) && this.records.size >= MAX_COOLDOWN_ENTRIES) {
      // Forget the oldest closed entry; open circuits are kept.
      for (const [key, r] of this.records) {
        if (!r.open) {
          this.records.delete(key)
          break
        }
      }
    }
    this.records.set(id, next)
  }

  health(id: string, now = Date.now()): DeploymentHealth {
    return healthOf(this.records.get(id), now, this.settings())
  }

  async close(): Promise<void> {
    this.records.clear()
  }
}

function transition(rec: CircuitRecord, outcome: AttemptOutcome, now: number, s: CooldownSettings, opts: RecordOptions, owner: string): CircuitRecord {
  if (outcome === 'failure') return recordFailure(rec, now, s, { probe: opts.probe, error: opts.error, window: opts.window })
  if (outcome === 'success') return recordSuccess(rec, now, { probe: opts.probe })
  return opts.probe ? releaseProbe(rec, owner) : rec
}

// Compare-and-set of one record, publishing the new value in the same atomic
// step (so subscribers see changes in the order they were made).
//   KEYS[1] record key; ARGV: expected ('' = absent), next ('' = delete), ttl ms, message, channel
const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if not cur then cur = '' end
if cur ~= ARGV[1] then return {0, cur} end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', tonumber(ARGV[3])) end
redis.call('PUBLISH', ARGV[5], ARGV[4])
return {1, ''}
`

const CAS_MAX_TRIES = 10

export const DEFAULT_COOLDOWN_KEY_PREFIX = 'switchyard:cooldown:'
/** How long an unused probe slot won in the background stays reserved for this instance. */
export const DEFAULT_PROBE_CLAIM_MS = 5_000

export interface RedisCooldownOptions {
  /** Connection for commands. */
  redis: Redis
  /** A dedicated connection for pub/sub (e.g. redis.duplicate()); the caller closes it. */
  subscriber: Redis
  /** Prefix of the record keys and of the channel. */
  prefix?: string
  settings?: () => CooldownSettings
  instanceId?: string
  probeClaimMs?: number
  onError?: (err: unknown, what: string) => void
}

interface Message {
  id: string
  rec: CircuitRecord | null
  from: string
}

function parseRecord(raw: string | null | undefined): CircuitRecord | undefined {
  if (!raw) return undefined
  try {
    const r = JSON.parse(raw) as CircuitRecord
    return r && typeof r === 'object' && typeof r.v === 'number' ? r : undefined
  } catch {
    return undefined
  }
}

export class RedisCooldownStore implements CooldownStore {
  readonly instanceId: string
  readonly prefix: string
  readonly channel: string
  private readonly cache = new Map<string, CircuitRecord>()
  /** Probes this instance let through whose outcome is not in yet. */
  private readonly admitted = new Set<string>()
  /** No new background claim for a deployment before this time. */
  private readonly claimingUntil = new Map<string, number>()
  private readonly pending = new Set<Promise<unknown>>()
  readonly settings: () => CooldownSettings
  private readonly probeClaimMs: number
  private closed = false
  private readonly onMessage = (channel: string, message: string) => {
    if (channel !== this.channel) return
    let m: Message
    try {
      m = JSON.parse(message) as Message
    } catch {
      return
    }
    if (typeof m?.id !== 'string') return
    this.setLocal(m.id, m.rec ?? undefined)
  }
  private readonly onReady = () => {
    this.track(this.resync())
  }

  constructor(private readonly opts: RedisCooldownOptions) {
    this.instanceId = opts.instanceId ?? randomUUID()
    this.prefix = opts.prefix ?? DEFAULT_COOLDOWN_KEY_PREFIX
    this.channel = `${this.prefix}events`
    this.settings = opts.settings ?? (() => DEFAULT_COOLDOWN)
    this.probeClaimMs = opts.probeClaimMs ?? DEFAULT_PROBE_CLAIM_MS
  }

  /** Subscribes and loads the current records; resolves once both are done. */
  async start(): Promise<void> {
    this.opts.subscriber.on('message', this.onMessage)
    await this.opts.subscriber.subscribe(this.channel)
    // After a reconnection (messages may have been missed) the records are reloaded.
    this.opts.subscriber.on('ready', this.onReady)
    await this.resync()
  }

  private key(id: string): string {
    return `${this.prefix}d:${id}`
  }

  private setLocal(id: string, rec: CircuitRecord | undefined): void {
    if (rec && !isPristine(rec)) this.cache.set(id, rec)
    else this.cache.delete(id)
  }

  private track<T>(p: Promise<T>): Promise<T | undefined> {
    const guarded = p.then(
      (v) => v,
      (err) => {
        if (!this.closed) this.opts.onError?.(err, 'cooldown redis')
        return undefined
      },
    )
    this.pending.add(guarded)
    void guarded.finally(() => this.pending.delete(guarded))
    return guarded
  }

  /** Replaces the local copy with what Redis holds. */
  async resync(): Promise<void> {
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = await this.opts.redis.scan(cursor, 'MATCH', `${this.prefix}d:*`, 'COUNT', 500)
      cursor = next
      keys.push(...batch)
    } while (cursor !== '0')
    const seen = new Set<string>()
    for (let i = 0; i < keys.length; i += 500) {
      const slice = keys.slice(i, i + 500)
      const values = await this.opts.redis.mget(...slice)
      slice.forEach((k, j) => {
        const id = k.slice(`${this.prefix}d:`.length)
        seen.add(id)
        this.setLocal(id, parseRecord(values[j]))
      })
    }
    for (const id of [...this.cache.keys()]) if (!seen.has(id)) this.cache.delete(id)
  }

  private ttlFor(rec: CircuitRecord, now: number, s: CooldownSettings): number {
    const base = rec.open ? Math.max(0, rec.openUntil - now) + Math.max(s.maxCooldownMs, s.probeLeaseMs) : 0
    return Math.ceil(base + s.windowMs + 1_000)
  }

  /**
   * Applies `fn` to the record in Redis with compare-and-set, retrying on
   * conflicts. `fn` returning undefined or its argument means no change (the
   * local copy is then refreshed from what Redis holds).
   */
  private async update(id: string, fn: (rec: CircuitRecord, now: number) => CircuitRecord | undefined): Promise<CircuitRecord | undefined> {
    const key = this.key(id)
    let raw = await this.opts.redis.get(key)
    for (let i = 0; i < CAS_MAX_TRIES; i++) {
      const now = Date.now()
      const current = parseRecord(raw)
      const base = current ?? closedRecord()
      const next = fn(base, now)
      if (!next || next === base) {
        this.setLocal(id, current)
        return current
      }
      const pristine = isPristine(next)
      const message: Message = { id, rec: pristine ? null : next, from: this.instanceId }
      const result = (await this.opts.redis.eval(
        CAS_SCRIPT,
        1,
        key,
        current ? (raw as string) : '',
        pristine ? '' : JSON.stringify(next),
        String(this.ttlFor(next, now, this.settings())),
        JSON.stringify(message),
        this.channel,
      )) as [number, string]
      if (Number(result[0]) === 1) {
        this.setLocal(id, pristine ? undefined : next)
        return next
      }
      raw = result[1] === '' ? null : result[1]
    }
    throw new Error(`cooldown: could not update ${id} after ${CAS_MAX_TRIES} tries (contention)`)
  }

  /** Asks Redis for the half-open probe slot in the background. */
  private claimInBackground(id: string, now: number): void {
    if ((this.claimingUntil.get(id) ?? 0) > now || this.closed) return
    this.claimingUntil.set(id, now + Math.min(this.probeClaimMs, 1_000))
    this.track(this.update(id, (rec, at) => claimProbe(rec, at, this.probeClaimMs, this.instanceId)))
  }

  /** Whether this instance won the probe slot and has not used it yet. */
  private holdsUnusedProbe(id: string, rec: CircuitRecord, now: number): boolean {
    return rec.probeOwner === this.instanceId && rec.probeUntil > now && !this.admitted.has(id)
  }

  unavailable(id: string, now = Date.now()): string | undefined {
    if (!this.settings().enabled) return undefined
    const rec = this.cache.get(id)
    if (!rec || !rec.open) return undefined
    const cooling = coolingReason(rec, now)
    if (cooling) return cooling
    if (this.holdsUnusedProbe(id, rec, now)) return undefined
    if (rec.probeUntil > now) return PROBE_IN_FLIGHT
    this.claimInBackground(id, now)
    return 'half-open: waiting for the probe slot'
  }

  admit(id: string, now = Date.now()): Admission {
    const s = this.settings()
    const rec = this.cache.get(id)
    if (!s.enabled || !rec) return { ok: true, probe: false }
    const state = circuitState(rec, now)
    if (state === 'closed') return { ok: true, probe: false }
    if (state === 'open') return { ok: false, reason: coolingReason(rec, now)!, retryAt: rec.openUntil }
    if (this.holdsUnusedProbe(id, rec, now)) {
      this.admitted.add(id)
      // The probe runs now: hold the slot for as long as a probe may take.
      const extended = extendProbe(rec, now, s.probeLeaseMs, this.instanceId)
      if (extended) this.cache.set(id, extended)
      this.track(this.update(id, (r, at) => extendProbe(r, at, s.probeLeaseMs, this.instanceId)))
      return { ok: true, probe: true }
    }
    if (rec.probeUntil <= now) this.claimInBackground(id, now)
    return { ok: false, reason: PROBE_IN_FLIGHT, retryAt: now }
  }

  record(id: string, outcome: AttemptOutcome, opts: RecordOptions = {}): Promise<void> {
    if (opts.probe) this.admitted.delete(id)
    const s = this.settings()
    if (!s.enabled) return Promise.resolve()
    const local = this.cache.get(id)
    // The common case costs no Redis round trip: a success on a healthy deployment.
    if (outcome === 'success' && !opts.probe && (!local || (!local.open && local.consecutive === 0))) return Promise.resolve()
    if (outcome === 'neutral' && !opts.probe) return Promise.resolve()
    const now = opts.now ?? Date.now()
    const fn = (rec: CircuitRecord) => transition(rec, outcome, now, s, opts, this.instanceId)
    // Reflected locally at once (this instance routes on it now); Redis has the final word.
    const optimistic = fn(local ?? closedRecord())
    if (optimistic !== (local ?? undefined)) this.setLocal(id, optimistic)
    return this.track(this.update(id, fn)).then(() => undefined)
  }

  health(id: string, now = Date.now()): DeploymentHealth {
    return healthOf(this.cache.get(id), now, this.settings())
  }

  async close(): Promise<void> {
    this.closed = true
    this.opts.subscriber.off('message', this.onMessage)
    this.opts.subscriber.off('ready', this.onReady)
    await Promise.allSettled([...this.pending])
    await this.opts.subscriber.unsubscribe(this.channel).catch(() => undefined)
  }
}
