// The Redis-backed limits: two gateway instances sharing one Redis (and one
// database) must behave like one. Runs when TEST_REDIS_URL is set.
import { before, test } from 'tap'
import { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
import { startMockOpenAI } from '../mocks/openai.js'
import { auth, buildTestApp, tempSqliteUrl } from '../helpers/app.js'
import { burst, chat, createKey, freshMinute, mockGateway, recordedSpend, redisKeyCount, redisPrefix, settled, upstreamGateway } from '../helpers/limits.js'
import { RedisBudgetStore } from '../../lib/limits/budget-redis.js'
import { budgetChecks, RESERVATION_TTL_MS } from '../../lib/limits/budget.js'
import { dayPeriod } from '../../lib/limits/periods.js'
import { countPromptTokens } from '../../lib/cost/tokens.js'
import { warmWriterThread } from '../helpers/money.js'

before(warmWriterThread)

const skip = process.env.TEST_REDIS_URL ? false : 'TEST_REDIS_URL is not set: the Redis-backed limit stores are not tested'

interface Tap {
  teardown(fn: () => unknown): void
}

/** Two instances on one database and one Redis prefix. */
async function pair(t: Tap, gateway: (prefix: string) => unknown) {
  const r = redisPrefix(t)!
  const databaseUrl = tempSqliteUrl(t)
  const env = { REDIS_URL: r.url }
  const one = await buildTestApp(t, { gateway: gateway(r.prefix), databaseUrl, env })
  const two = await buildTestApp(t, { gateway: gateway(r.prefix), databaseUrl, env })
  return { one, two, ...r }
}

test('RPM is shared: a key limited to 3 gets 3 in total across instances', { skip }, async (t) => {
  const { one, two, url, prefix } = await pair(t, (p) => mockGateway({ limits: { redisKeyPrefix: p } }))
  const key = await createKey(one, { name: 'shared', rpmLimit: 3 })
  await two.keys.reload()
  t.equal((await chat(one, key.headers)).statusCode, 200)
  t.equal((await chat(two, key.headers)).statusCode, 200)
  const third = await chat(one, key.headers)
  t.equal(third.statusCode, 200)
  t.equal(third.headers['x-ratelimit-remaining-requests'], '0')
  const fourth = await chat(two, key.headers)
  t.equal(fourth.statusCode, 429, 'the other instance knows about the first three')
  t.equal(fourth.json().error.code, 'rate_limit_exceeded')
  t.ok(Number(fourth.headers['retry-after']) >= 1)
  t.ok((await redisKeyCount(url, `${prefix}rpm:`)) >= 1, 'the counter lives in Redis under the prefix')
})

test('TPM is shared: usage counted on one instance is seen by the other', { skip }, async (t) => {
  const { one, two } = await pair(t, (p) => mockGateway({ limits: { redisKeyPrefix: p } }))
  const key = await createKey(one, { name: 'tokens', tpmLimit: 1000 })
  await two.keys.reload()
  await freshMinute()
  const first = await chat(one, key.headers, { max_tokens: 3 })
  t.equal(first.statusCode, 200)
  await settled(one)
  const used = first.json().usage.total_tokens as number
  const second = await chat(two, key.headers, { max_tokens: 3 })
  t.equal(second.statusCode, 200, second.body.slice(0, 200))
  // What is left: the first one's actual usage and the second one's own reserved estimate (prompt + max_tokens).
  const estimate = countPromptTokens({ model: 'm', messages: [{ role: 'user', content: 'hello there, gateway' }] } as never, 'mock', 'mock-a').tokens + 3
  t.equal(second.headers['x-ratelimit-remaining-tokens'], String(1000 - used - estimate))
})

test('deployment caps are shared: the instance that did not send the first two still moves to B', { skip }, async (t) => {
  const { one, two } = await pair(t, (p) =>
    mockGateway({
      limits: { redisKeyPrefix: p },
      deployments: [
        { id: 'dep-a', provider: 'mock', model: 'mock-a', rpm: 2 },
        { id: 'dep-b', provider: 'mock', model: 'mock-b' },
      ],
    }),
  )
  await freshMinute()
  const first = await chat(one, auth)
  await settled(one)
  const second = await chat(two, auth)
  await settled(two)
  const third = await chat(one, auth)
  t.same([first, second, third].map((r) => r.statusCode), [200, 200, 200])
  t.same(
    [first, second, third].map((r) => r.headers['x-switchyard-deployment']),
    ['dep-a', 'dep-a', 'dep-b'],
  )
})

test('budgets are shared: 20 concurrent requests split over two instances, budget for 5', { skip }, async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  up.behaviour(() => ({ delayMs: 150 }))
  const { one, two, url, prefix } = await pair(t, (p) => upstreamGateway(up.url, { redisKeyPrefix: p }))
  const key = await createKey(one, { name: 'burst', budgetDailyUsd: 5 })
  await two.keys.reload()
  const [a, b] = await Promise.all([burst(one, key.headers, 10), burst(two, key.headers, 10)])
  t.same([...a.other, ...b.other], [])
  const accepted = a.accepted + b.accepted
  t.ok(accepted <= 5, `accepted ${accepted} <= 5`)
  t.equal(accepted, 5)
  t.equal(a.refused + b.refused, 20 - accepted)
  await two.usage.flush()
  const spend = await recordedSpend(one, key.id)
  t.ok(spend <= 5 + 1e-9, `recorded spend ${spend} <= budget`)
  const [state1] = await one.budgets.report()
  const [state2] = await two.budgets.report()
  t.match(state1, { spentUsd: 5, reservedUsd: 0 })
  t.same(state2, state1, 'both instances read the same state')
  t.equal(one.budgets.store.kind, 'redis')
  t.ok((await redisKeyCount(url, `${prefix}budget:spend:`)) >= 2, 'spend counters are in Redis (day and month)')

  // A failed call releases its reservation on Redis too.
  const fresh = await createKey(one, { name: 'fragile', budgetDailyUsd: 1 })
  // Every attempt of the next request fails (retries included).
  up.behaviour(() => ({ status: 500, body: { error: { message: 'boom', type: 'server_error' } } }))
  t.ok((await chat(one, fresh.headers, { max_tokens: 5 })).statusCode >= 500)
  await settled(one)
  up.behaviour(undefined)
  t.equal((await chat(one, fresh.headers, { max_tokens: 5 })).statusCode, 200, 'the reservation did not leak')
})

test('Redis budget store: atomic reserve, settle, expiry, seed once per period', { skip }, async (t) => {
  const r = redisPrefix(t)!
  const redis = new Redis(r.url, { maxRetriesPerRequest: 2 })
  t.teardown(() => redis.disconnect())
  const store = new RedisBudgetStore(redis, r.prefix)
  const now = Date.now()
  const checks = budgetChecks([{ kind: 'key', id: 'k1', label: 'k1', dailyUsd: 5 }], now)

  const results = await Promise.all(Array.from({ length: 20 }, () => store.reserve(randomUUID(), checks, 1, now)))
  const ok = results.filter((x) => x.ok)
  t.equal(ok.length, 5, 'exactly the reservations that fit')
  const refused = results.find((x) => !x.ok)
  t.match(refused, { ok: false, spentUsd: 0, reservedUsd: 5 })

  // Settle one at a lower actual cost: its reservation goes, its cost is spent.
  const first = ok[0]!
  if (!first.ok) throw new Error('unreachable')
  await store.settle(first.reservation, ['key:k1', 'tenant:t1'], 0.25, now)
  const [state] = await store.state([{ scope: 'key:k1', period: dayPeriod(now) }], now)
  t.match(state, { spentUsd: 0.25, reservedUsd: 4 })
  const tenant = await store.state([{ scope: 'tenant:t1', period: dayPeriod(now) }], now)
  t.equal(tenant[0]!.spentUsd, 0.25, 'spend counts for the tenant too')
  // Settling twice does not free another request's reservation.
  await store.settle(first.reservation, [], 0, now)
  t.equal((await store.state([{ scope: 'key:k1', period: dayPeriod(now) }], now))[0]!.reservedUsd, 4)

  // Expired reservations (an instance died mid-request) stop counting.
  // Same budget period, judged after the reservations' TTL: 0.25 spent + 4.75 fits only without them.
  t.equal((await store.reserve(randomUUID(), checks, 4.75, now)).ok, false, 'the live reservations still count')
  const afterExpiry = await store.reserve(randomUUID(), checks, 4.75, now + RESERVATION_TTL_MS + 1)
  t.equal(afterExpiry.ok, true, 'fits once the stale ones expired')

  const period = 'd:2000-01-01'
  t.equal(await store.seed(period, new Map([['key:k9', 2.5]])), true)
  t.equal(await store.seed(period, new Map([['key:k9', 2.5]])), false, 'never loaded twice')
  t.equal((await store.state([{ scope: 'key:k9', period }], now))[0]!.spentUsd, 2.5)
})
