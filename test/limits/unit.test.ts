// The pure logic of lib/limits, without a gateway.
import { test } from 'tap'
import { randomUUID } from 'node:crypto'
import {
  budgetChecks,
  budgetMessage,
  estimateCostUsd,
  formatUsd,
  MemoryBudgetStore,
  RESERVATION_TTL_MS,
  spendScopes,
  spendSlots,
} from '../../lib/limits/budget.js'
import { dayPeriod, monthPeriod, msUntilPeriodEnd, secondsToNextMinute, startOfUtcDay, startOfUtcMonth } from '../../lib/limits/periods.js'
import { checkTokens, formatReset, rateBucket, rateHeaders, rpmLimitOf, tpmLimitOf } from '../../lib/limits/rate.js'
import { MemoryWindowCounter } from '../../lib/limits/window-counter.js'
import { DeploymentCaps } from '../../lib/limits/deployment-caps.js'

const T = Date.UTC(2025, 2, 31, 23, 59, 30) // 2025-03-31 23:59:30 UTC

test('periods are UTC days and months', async (t) => {
  t.equal(dayPeriod(T), 'd:2025-03-31')
  t.equal(monthPeriod(T), 'm:2025-03')
  t.equal(dayPeriod(T + 60_000), 'd:2025-04-01', 'a minute later is the next day')
  t.equal(startOfUtcDay(T).toISOString(), '2025-03-31T00:00:00.000Z')
  t.equal(startOfUtcMonth(T).toISOString(), '2025-03-01T00:00:00.000Z')
  t.equal(msUntilPeriodEnd('daily', T), 30_000)
  t.equal(msUntilPeriodEnd('monthly', T), 30_000)
  t.equal(secondsToNextMinute(T), 30)
  t.equal(secondsToNextMinute(T + 29_999), 1)
})

test('budget checks: only the windows with a limit, per scope', async (t) => {
  const checks = budgetChecks(
    [
      { kind: 'key', id: 'k1', label: 'team-a', dailyUsd: 5, monthlyUsd: null },
      { kind: 'tenant', id: 'acme', label: 'acme', monthlyUsd: 100 },
      { kind: 'key', id: 'k2', label: 'none' },
    ],
    T,
  )
  t.same(
    checks.map((c) => [c.scope, c.period, c.window, c.limitUsd]),
    [
      ['key:k1', 'd:2025-03-31', 'daily', 5],
      ['tenant:acme', 'm:2025-03', 'monthly', 100],
    ],
  )
  t.same(spendScopes('k1', 'acme'), ['key:k1', 'tenant:acme'])
  t.same(spendScopes(null, null), [], 'the master key spends against nothing')
  t.same(spendSlots(['key:k1'], T), [{ scope: 'key:k1', period: 'd:2025-03-31' }, { scope: 'key:k1', period: 'm:2025-03' }])
})

test('estimate and messages', async (t) => {
  t.equal(estimateCostUsd(1000, 256, { input: 2.5, output: 10 }), (1000 * 2.5 + 256 * 10) / 1e6)
  t.equal(estimateCostUsd(1000, 256, undefined), 0, 'unknown price: nothing to reserve')
  t.equal(formatUsd(5), '$5.00')
  t.equal(formatUsd(5.0149), '$5.01')
  t.equal(formatUsd(0.0042), '$0.0042')
  const [check] = budgetChecks([{ kind: 'key', id: 'k1', label: 'team-a', dailyUsd: 5 }], T)
  t.equal(budgetMessage({ ok: false, check: check!, spentUsd: 5.01, reservedUsd: 0, amountUsd: 0.2 }), 'key "team-a" daily budget of $5.00 is spent ($5.01 used)')
  t.equal(
    budgetMessage({ ok: false, check: check!, spentUsd: 4, reservedUsd: 0.9, amountUsd: 0.2 }),
    'key "team-a" daily budget of $5.00 would be exceeded ($4.00 used, $0.90 reserved by requests in flight; this request may cost up to $0.20)',
  )
})

test('memory budget store: all-or-nothing reserve, settle, release, expiry, seed', async (t) => {
  const store = new MemoryBudgetStore()
  const checks = budgetChecks([{ kind: 'key', id: 'k1', label: 'k1', dailyUsd: 5 }, { kind: 'tenant', id: 'acme', label: 'acme', dailyUsd: 2 }], T)
  const a = await store.reserve('a', checks, 1.5, T)
  t.equal(a.ok, true)
  const b = await store.reserve('b', checks, 1, T)
  t.match(b, { ok: false, check: { scope: 'tenant:acme' }, spentUsd: 0, reservedUsd: 1.5 }, 'the tenant budget refuses')
  const [k1] = await store.state([{ scope: 'key:k1', period: dayPeriod(T) }], T)
  t.equal(k1!.reservedUsd, 1.5, 'a refused request reserved nowhere, not even in the budgets that passed')

  if (!a.ok) throw new Error('unreachable')
  await store.settle(a.reservation, ['key:k1', 'tenant:acme'], 1.25, T)
  t.match(await store.state([{ scope: 'key:k1', period: dayPeriod(T) }, { scope: 'key:k1', period: monthPeriod(T) }], T), [
    { spentUsd: 1.25, reservedUsd: 0 },
    { spentUsd: 1.25, reservedUsd: 0 },
  ])
  await store.settle(a.reservation, [], 0, T)
  t.equal((await store.state([{ scope: 'key:k1', period: dayPeriod(T) }], T))[0]!.spentUsd, 1.25, 'settling twice adds nothing')

  const c = await store.reserve('c', checks, 0.75, T)
  t.equal(c.ok, true, '1.25 + 0.75 fits exactly in 2')
  if (!c.ok) throw new Error('unreachable')
  t.equal((await store.reserve(randomUUID(), checks, 0.01, T)).ok, false)
  await store.release(c.reservation)
  t.equal((await store.reserve('d', checks, 0.5, T)).ok, true, 'released: room again')
  t.equal((await store.reserve('e', checks, 0.5, T)).ok, false)
  t.equal((await store.reserve('f', checks, 0.5, T + RESERVATION_TTL_MS + 1)).ok, true, 'an expired reservation no longer counts')

  const fresh = new MemoryBudgetStore()
  t.equal(await fresh.seed('d:2025-03-31', new Map([['key:k1', 4.5]])), true)
  t.equal(await fresh.seed('d:2025-03-31', new Map([['key:k1', 4.5]])), false)
  t.match(await fresh.reserve('x', checks, 1, T), { ok: false, spentUsd: 4.5, check: { scope: 'key:k1' } })
})

test('rate helpers', async (t) => {
  t.equal(rateBucket({ id: 'key_1' }), 'key:key_1')
  t.equal(rateBucket({ id: null }), 'master')
  t.equal(rpmLimitOf({ id: 'k', rpmLimit: 3 }, { rpm: 10 }), 3)
  t.equal(rpmLimitOf({ id: 'k', rpmLimit: null }, { rpm: 10 }), 10)
  t.equal(rpmLimitOf({ id: 'k' }, {}), undefined, 'unlimited')
  t.equal(tpmLimitOf({ id: null }, { tpm: 500 }), 500)
  t.equal(formatReset(0.2), '1s')
  t.equal(formatReset(59), '59s')
  t.equal(formatReset(61), '1m1s')
  t.same(rateHeaders('tokens', 100, 42.7, 12), { 'x-ratelimit-limit-tokens': '100', 'x-ratelimit-remaining-tokens': '42', 'x-ratelimit-reset-tokens': '12s' })
  t.match(checkTokens(100, 90, 10), { ok: true, remaining: 10 })
  t.match(checkTokens(100, 90, 11), { ok: false, remaining: 10 })
})

test('window counter and deployment caps', async (t) => {
  let now = T
  const counter = new MemoryWindowCounter()
  t.equal(await counter.add('x', 3, now), 3)
  t.equal(await counter.add('x', 4, now), 7)
  t.same(await counter.get(['x', 'y'], now), [7, 0])
  t.same(await counter.get(['x'], now + 60_000), [0], 'a new minute starts at zero')

  const caps = new DeploymentCaps(new MemoryWindowCounter(), () => now)
  const a = { id: 'a', rpm: 2 }
  const b = { id: 'b', tpm: 100 }
  t.equal(caps.unavailable(a), undefined)
  await caps.countRequest(a)
  await caps.countRequest(a)
  t.equal(caps.unavailable(a), 'at rpm cap')
  await caps.countTokens(b, 99)
  t.equal(caps.unavailable(b), undefined)
  await caps.countTokens(b, 1)
  t.equal(caps.unavailable(b), 'at tpm cap')
  t.equal(caps.unavailable({ id: 'free' }), undefined, 'no cap, never excluded')
  now += 60_000
  t.equal(caps.unavailable(a), undefined, 'the next minute')

  // refresh() takes the shared totals (another instance's requests).
  const shared = new MemoryWindowCounter()
  const mine = new DeploymentCaps(shared, () => now)
  await shared.add('dep:a:rpm', 2, now)
  t.equal(mine.unavailable(a), undefined, 'not known yet')
  await mine.refresh([a, { id: 'uncapped' }])
  t.equal(mine.unavailable(a), 'at rpm cap')
})
