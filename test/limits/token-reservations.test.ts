// Reserve-then-settle for tokens per minute: the check and the add are one
// step, and settling puts back what the estimate over-counted (never into a
// minute that is already over).
import { test } from 'tap'
import { Redis } from 'ioredis'
import { MemoryWindowCounter, RedisWindowCounter, type WindowCounter } from '../../lib/limits/window-counter.js'
import { reserveTokens, settleTokens, settlementDelta } from '../../lib/limits/token-reservations.js'
import { redisPrefix } from '../helpers/limits.js'

const MINUTE = 60_000
const t0 = 1_800_000_000_000 - (1_800_000_000_000 % MINUTE) + 1_000 // one second into a minute

async function concurrentReserves(t: { equal(a: unknown, b: unknown, m?: string): void }, counter: WindowCounter) {
  const results = await Promise.all(Array.from({ length: 20 }, () => reserveTokens(counter, 'tpm:k', 200, 1000, t0)))
  t.equal(results.filter((r) => r.ok).length, 5, '5 of 20 estimates of 200 fit in 1,000')
  const [total] = await counter.get(['tpm:k'], t0)
  t.equal(total, 1000)
  const admitted = results.filter((r) => r.ok).map((r) => (r as Extract<typeof r, { ok: true }>).reservation)
  // Each used 30: settling gives back 170 each, in the same minute.
  for (const r of admitted) await settleTokens(counter, r, 30, t0 + 5_000)
  t.equal((await counter.get(['tpm:k'], t0 + 5_000))[0], 150)
  const refused = results.find((r) => !r.ok)!
  t.equal(refused.total, 1000, 'a refusal reports the total it found')
}

test('memory counter: concurrent reservations cannot overshoot; settlement gives back the unused estimate', async (t) => {
  await concurrentReserves(t, new MemoryWindowCounter())
})

test('Redis counter: the same through the Lua script', { skip: process.env.TEST_REDIS_URL ? false : 'TEST_REDIS_URL is not set: the Redis counter is not tested' }, async (t) => {
  const r = redisPrefix(t)!
  const redis = new Redis(r.url)
  t.teardown(() => redis.disconnect())
  await concurrentReserves(t, new RedisWindowCounter(redis, r.prefix))
})

test('settlementDelta: same minute adds actual - estimate; a later minute only the overrun', async (t) => {
  const res = { key: 'tpm:k', amount: 200, at: t0 }
  t.equal(settlementDelta(res, 30, t0 + 10_000), -170)
  t.equal(settlementDelta(res, 250, t0 + 10_000), 50)
  t.equal(settlementDelta(res, 30, t0 + MINUTE), 0, 'nothing to give back to a minute that is over')
  t.equal(settlementDelta(res, 250, t0 + MINUTE), 50, 'an under-estimate is still counted')
  t.equal(settlementDelta(res, Number.NaN, t0), -200, 'no usable figure: nothing was used')
  const counter = new MemoryWindowCounter()
  await reserveTokens(counter, 'tpm:k', 200, 1000, t0)
  await settleTokens(counter, res, 30, t0 + MINUTE)
  t.equal((await counter.get(['tpm:k'], t0 + MINUTE))[0], 0, 'the new minute starts clean')
})
