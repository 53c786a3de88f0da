import { test } from 'tap'
import {
  backoffCeiling,
  backoffDelay,
  DEFAULT_MAX_RETRY_AFTER_MS,
  DEFAULT_RETRY_ATTEMPTS,
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_CAP_MS,
  DEFAULT_RETRY_POLICY,
  mergeRetryPolicy,
  retryWait,
  sleep,
} from '../../lib/resilience/backoff.js'

/** A deterministic [0, 1) sequence (LCG), so the bounds check covers many values reproducibly. */
function seeded(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

test('documented defaults', async (t) => {
  t.equal(DEFAULT_RETRY_ATTEMPTS, 2)
  t.equal(DEFAULT_RETRY_BASE_MS, 100)
  t.equal(DEFAULT_RETRY_CAP_MS, 2_000)
  t.equal(DEFAULT_MAX_RETRY_AFTER_MS, 10_000)
  t.same(mergeRetryPolicy(), { attempts: 2, baseMs: 100, capMs: 2_000, maxRetryAfterMs: 10_000 })
  t.ok(Object.isFrozen(DEFAULT_RETRY_POLICY))
})

test('the model layer overrides the global one, field by field', async (t) => {
  const merged = mergeRetryPolicy({ attempts: 5, capMs: 500 }, { attempts: 1, baseMs: 10 })
  t.same(merged, { attempts: 1, baseMs: 10, capMs: 500, maxRetryAfterMs: 10_000 })
  t.same(mergeRetryPolicy(undefined, { attempts: 0 }).attempts, 0, 'zero disables retries')
})

test('exponential ceiling: min(cap, base * 2^n)', async (t) => {
  const p = { baseMs: 100, capMs: 2_000 }
  t.same([0, 1, 2, 3, 4, 5, 30].map((n) => backoffCeiling(n, p)), [100, 200, 400, 800, 1_600, 2_000, 2_000])
  t.equal(backoffCeiling(1_000, p), 2_000, 'no overflow to Infinity/NaN for huge retry numbers')
})

test('full jitter stays within [0, ceiling] and spans the range', async (t) => {
  const p = { baseMs: 100, capMs: 2_000 }
  t.equal(backoffDelay(0, p, () => 0), 0, 'random 0 -> no wait')
  t.equal(backoffDelay(0, p, () => 0.5), 50)
  t.equal(backoffDelay(3, p, () => 0.25), 200)
  t.equal(backoffDelay(0, p, () => 0.999999), 99, 'just below the ceiling')
  t.equal(backoffDelay(6, p, () => 0.999999), 1_999, 'capped ceiling')
  t.equal(backoffDelay(2, p, () => 7), 400, 'a misbehaving random is clamped to the ceiling')
  t.equal(backoffDelay(2, p, () => -1), 0, 'and to zero')

  const random = seeded(42)
  for (let retry = 0; retry < 8; retry++) {
    const ceiling = backoffCeiling(retry, p)
    const samples = Array.from({ length: 500 }, () => backoffDelay(retry, p, random))
    t.ok(samples.every((d) => Number.isInteger(d) && d >= 0 && d < ceiling), `retry ${retry}: all in [0, ${ceiling})`)
    // Full jitter, not "equal" jitter: the lower half of the range is used too.
    t.ok(samples.some((d) => d < ceiling / 4), `retry ${retry}: some short waits`)
    t.ok(samples.some((d) => d > (ceiling * 3) / 4), `retry ${retry}: some long waits`)
  }
})

test('retry-after is honoured up to the cap, never waited for beyond it', async (t) => {
  const policy = mergeRetryPolicy()
  t.same(retryWait(0, policy, 1_000), { wait: true, delayMs: 1_000, source: 'retry-after' })
  t.same(retryWait(1, policy, 250.4), { wait: true, delayMs: 251, source: 'retry-after' }, 'rounded up, not down')
  t.same(retryWait(0, policy, 10_000), { wait: true, delayMs: 10_000, source: 'retry-after' }, 'exactly the cap is honoured')
  t.same(retryWait(0, policy, 10_001), { wait: false, reason: 'retry_after_too_long', retryAfterMs: 10_001 })
  t.same(retryWait(0, { ...policy, maxRetryAfterMs: 500 }, 1_000), { wait: false, reason: 'retry_after_too_long', retryAfterMs: 1_000 }, 'the cap is configurable')
  t.same(retryWait(1, policy, undefined, () => 0.5), { wait: true, delayMs: 100, source: 'backoff' }, 'no retry-after -> backoff')
  t.same(retryWait(1, policy, 0, () => 0.5), { wait: true, delayMs: 100, source: 'backoff' }, 'retry-after 0 -> backoff')
  t.same(retryWait(1, policy, Number.NaN, () => 0.5), { wait: true, delayMs: 100, source: 'backoff' }, 'garbage retry-after -> backoff')
})

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

test('sleep: completes, or stops at once on abort without leaking its timer', async (t) => {
  t.equal(await sleep(5), true, 'a short sleep completes')
  t.equal(await sleep(0), true)

  const pre = new AbortController()
  pre.abort()
  t.equal(await sleep(60_000, pre.signal), false, 'an already aborted signal does not wait')

  const before = timeouts()
  const controller = new AbortController()
  const pending = sleep(60_000, controller.signal)
  t.equal(timeouts(), before + 1, 'one timer while waiting')
  controller.abort()
  t.equal(await pending, false, 'abort resolves false')
  t.equal(timeouts(), before, 'the timer is cleared')

  // A completed sleep removes its abort listener: aborting later is harmless.
  const late = new AbortController()
  t.equal(await sleep(1, late.signal), true)
  late.abort()
  t.equal(timeouts(), before)
})
