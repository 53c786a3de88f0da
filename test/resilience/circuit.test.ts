import { test } from 'tap'
import {
  circuitState,
  claimProbe,
  closedRecord,
  cooldownSettings,
  coolingRetryAfterMs,
  DEFAULT_COOLDOWN,
  healthOf,
  recordFailure,
  recordSuccess,
  releaseProbe,
  type CircuitRecord,
  type CooldownSettings,
} from '../../lib/resilience/circuit.js'
import { MemoryCooldownStore } from '../../lib/resilience/cooldown.js'

const S: CooldownSettings = cooldownSettings({ failures: 5, windowMs: 30_000, consecutiveFailures: 3, cooldownMs: 30_000, maxCooldownMs: 300_000 })
const T0 = 1_700_000_000_000

function fail(rec: CircuitRecord, at: number, probe = false) {
  return recordFailure(rec, at, S, { probe, error: 'boom' })
}

test('documented defaults', async (t) => {
  t.same(
    { ...DEFAULT_COOLDOWN },
    { enabled: true, failures: 5, failureRate: 0.5, minRequests: 20, windowMs: 30_000, consecutiveFailures: 5, cooldownMs: 30_000, maxCooldownMs: 300_000, probeLeaseMs: 60_000 },
  )
  t.same(cooldownSettings(), DEFAULT_COOLDOWN)
  t.equal(cooldownSettings({ cooldownMs: 1_000, maxCooldownMs: 10 }).maxCooldownMs, 1_000, 'max never below the first cool-down')
  t.equal(cooldownSettings({ enabled: false }).enabled, false)
})

test('with traffic counts: a failure rate over a minimum volume opens it, a few percent does not', async (t) => {
  const s = { ...DEFAULT_COOLDOWN }
  // 2 faults out of 40 attempts (5 %): stays closed.
  let rec = recordFailure(closedRecord(), T0, s, { window: { requests: 40, failures: 2 } })
  t.equal(circuitState(rec, T0), 'closed')
  // Too little traffic to judge a rate: 3 of 4 failed, still closed (consecutive rule not met).
  rec = recordFailure(closedRecord(), T0, s, { window: { requests: 4, failures: 3 } })
  t.equal(circuitState(rec, T0), 'closed')
  // 10 of 20 (50 %): opens.
  rec = recordFailure(closedRecord(), T0, s, { window: { requests: 20, failures: 10 } })
  t.equal(circuitState(rec, T0), 'open')
  // The count rule (5 within the window) no longer applies once counts are known.
  let busy = closedRecord()
  for (let i = 0; i < 6; i++) {
    busy = recordFailure(busy, T0 + i, s, { window: { requests: 200, failures: i + 1 } })
    busy = recordSuccess(busy, T0 + i)
  }
  t.equal(circuitState(busy, T0 + 6), 'closed', 'six scattered faults among 200 attempts')
})

test('opens on consecutive failures', async (t) => {
  let rec = closedRecord()
  rec = fail(rec, T0)
  rec = fail(rec, T0 + 1)
  t.equal(circuitState(rec, T0 + 1), 'closed', 'two in a row: still closed')
  rec = fail(rec, T0 + 2)
  t.equal(circuitState(rec, T0 + 2), 'open', 'the third opens it')
  t.equal(rec.openUntil, T0 + 2 + 30_000)
  t.equal(rec.cooldownMs, 30_000)
  t.equal(rec.lastError, 'boom')
})

test('a success resets the consecutive count, not the window', async (t) => {
  let rec = closedRecord()
  let at = T0
  // fail, ok, fail, ok, ... never 3 in a row, but 5 within 30 s.
  for (let i = 0; i < 4; i++) {
    rec = fail(rec, (at += 1_000))
    rec = recordSuccess(rec, (at += 1_000))
    t.equal(rec.consecutive, 0)
  }
  t.equal(circuitState(rec, at), 'closed', 'four failures in the window')
  rec = fail(rec, (at += 1_000))
  t.equal(circuitState(rec, at), 'open', 'the fifth within the window opens it')
})

test('failures older than the window are forgotten', async (t) => {
  let rec = closedRecord()
  let at = T0
  for (let i = 0; i < 10; i++) {
    rec = fail(rec, (at += 20_000))
    rec = recordSuccess(rec, at + 1)
  }
  t.equal(circuitState(rec, at), 'closed', '10 failures, but never 5 within 30 s')
  t.ok(rec.failures.length <= 2)
  t.equal(recordSuccess(rec, at + 2), rec, 'a success with nothing to reset changes nothing')
})

test('half-open: one probe; success closes, failure doubles the cool-down up to the max', async (t) => {
  let rec = closedRecord()
  for (let i = 0; i < 3; i++) rec = fail(rec, T0)
  const reopen = rec.openUntil
  t.equal(circuitState(rec, reopen - 1), 'open')
  t.equal(claimProbe(rec, reopen - 1, 60_000, 'a'), undefined, 'no probe while cooling')
  t.equal(fail(rec, reopen - 1), rec, 'a late failure of a request let through before does not extend the cool-down')

  t.equal(circuitState(rec, reopen), 'half_open')
  const probing = claimProbe(rec, reopen, 60_000, 'a')!
  t.ok(probing, 'the first claim wins')
  t.equal(claimProbe(probing, reopen + 1, 60_000, 'b'), undefined, 'a second probe is refused')
  t.equal(claimProbe(probing, reopen + 1, 60_000, 'a'), undefined, 'even by the same owner')
  t.ok(claimProbe(probing, reopen + 60_000, 60_000, 'b'), 'a lost probe frees the slot after its lease')

  t.equal(releaseProbe(probing, 'b'), probing, 'only the owner releases')
  const released = releaseProbe(probing, 'a')
  t.equal(released.probeUntil, 0, 'a neutral outcome frees the slot')
  t.equal(circuitState(released, reopen + 1), 'half_open', 'and it stays half-open')

  // Probe failures: 60 s, 120 s, 240 s, then capped at 300 s.
  let r = probing
  const lengths: number[] = []
  let at = reopen
  for (let i = 0; i < 4; i++) {
    r = fail(r, at, true)
    lengths.push(r.cooldownMs)
    t.equal(circuitState(r, at), 'open')
    at = r.openUntil
    r = claimProbe(r, at, 60_000, 'a')!
  }
  t.same(lengths, [60_000, 120_000, 240_000, 300_000])

  const closed = recordSuccess(r, at, { probe: true })
  t.equal(circuitState(closed, at), 'closed', 'probe success closes')
  t.equal(closed.cooldownMs, 0)
  t.equal(recordSuccess(r, at), r, 'a success that was not the probe does not close it')
  const again = fail(fail(fail(closed, at), at), at)
  t.equal(again.cooldownMs, 30_000, 'after closing, the next cool-down starts from the base again')
})

test('memory store: skip, admit one probe, close', async (t) => {
  let now = T0
  const settings = cooldownSettings({ consecutiveFailures: 2, cooldownMs: 1_000 })
  const store = new MemoryCooldownStore(() => settings)
  t.equal(store.unavailable('d', now), undefined)
  t.same(store.admit('d', now), { ok: true, probe: false })

  await store.record('d', 'failure', { now })
  await store.record('d', 'neutral', { now })
  t.equal(store.health('d', now).consecutiveFailures, 1, 'a client error neither counts nor resets')
  await store.record('d', 'failure', { now, error: 'upstream_timeout' })
  t.match(store.unavailable('d', now), /^cooling down until /)
  t.same(store.admit('d', now), { ok: false, reason: store.unavailable('d', now), retryAt: now + 1_000 })
  t.match(store.health('d', now), { state: 'open', openUntil: now + 1_000, cooldownMs: 1_000, lastError: 'upstream_timeout', probeInFlight: false })
  t.equal(store.unavailable('other', now), undefined, 'other deployments are not affected')

  now += 1_000
  t.equal(store.unavailable('d', now), undefined, 'half-open: offered to the planner')
  t.same(store.admit('d', now), { ok: true, probe: true }, 'the first attempt is the probe')
  t.equal(store.unavailable('d', now), 'half-open: a probe request is in flight')
  t.match(store.admit('d', now), { ok: false }, 'a concurrent second attempt is refused')
  t.equal(store.health('d', now).probeInFlight, true)

  await store.record('d', 'failure', { now, probe: true })
  t.match(store.health('d', now), { state: 'open', cooldownMs: 2_000 }, 'probe failure: re-opened, doubled')
  now += 2_000
  t.same(store.admit('d', now), { ok: true, probe: true })
  await store.record('d', 'neutral', { now, probe: true })
  t.same(store.admit('d', now), { ok: true, probe: true }, 'a neutral probe outcome frees the slot for the next one')
  await store.record('d', 'success', { now, probe: true })
  t.match(store.health('d', now), { state: 'closed', failures: 0, consecutiveFailures: 0, openUntil: null })
  t.same(store.admit('d', now), { ok: true, probe: false })
})

test('memory store: disabled never opens', async (t) => {
  const store = new MemoryCooldownStore(() => cooldownSettings({ enabled: false }))
  for (let i = 0; i < 10; i++) await store.record('d', 'failure', { now: T0 })
  t.equal(store.unavailable('d', T0), undefined)
  t.same(store.admit('d', T0), { ok: true, probe: false })
  t.equal(store.health('d', T0).state, 'closed')
})

test('retry-after for an all-cooling request', async (t) => {
  const store = new MemoryCooldownStore(() => cooldownSettings({ consecutiveFailures: 1, cooldownMs: 5_000 }))
  await store.record('a', 'failure', { now: T0 })
  await store.record('b', 'failure', { now: T0 + 2_000 })
  const health = (id: string) => store.health(id, T0 + 3_000)
  t.equal(coolingRetryAfterMs(['a', 'b'], health, T0 + 3_000), 2_000, 'until the first reopens')
  t.equal(coolingRetryAfterMs(['a', 'c'], health, T0 + 3_000), undefined, 'not when one of them is not cooling')
  t.equal(coolingRetryAfterMs([], health, T0), undefined)
  t.same(healthOf(undefined, T0, S), {
    state: 'closed', failures: 0, consecutiveFailures: 0, openUntil: null, cooldownMs: 0, probeInFlight: false, lastError: null, lastFailureAt: null,
  })
})
