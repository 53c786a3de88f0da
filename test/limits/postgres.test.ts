// Budgets shared through Postgres (no Redis): row locks make check-and-reserve
// atomic across instances. Runs when TEST_DATABASE_URL is set.
import { before, test } from 'tap'
import { randomUUID } from 'node:crypto'
import { startMockOpenAI } from '../mocks/openai.js'
import { buildTestApp, tempPostgresUrl } from '../helpers/app.js'
import { burst, chat, createKey, recordedSpend, settled, upstreamGateway } from '../helpers/limits.js'
import { PostgresBudgetStore } from '../../lib/limits/budget-postgres.js'
import { budgetChecks, RESERVATION_TTL_MS } from '../../lib/limits/budget.js'
import { dayPeriod } from '../../lib/limits/periods.js'
import { postgresSchema } from '../../lib/storage/client.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const skip = process.env.TEST_DATABASE_URL ? false : 'TEST_DATABASE_URL is not set: the Postgres budget store is not tested'

test('Postgres budgets: 20 concurrent requests over two instances, budget for 5; failures release', { skip }, async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  up.behaviour(() => ({ delayMs: 150 }))
  const databaseUrl = tempPostgresUrl(t)!
  const one = await buildTestApp(t, { gateway: upstreamGateway(up.url), databaseUrl })
  const two = await buildTestApp(t, { gateway: upstreamGateway(up.url), databaseUrl })
  t.equal(one.budgets.store.kind, 'postgres', 'Postgres and no Redis: the database holds the budgets')
  const key = await createKey(one, { name: 'burst', budgetDailyUsd: 5 })
  await two.keys.reload()

  const [a, b] = await Promise.all([burst(one, key.headers, 10), burst(two, key.headers, 10)])
  t.same([...a.other, ...b.other], [])
  const accepted = a.accepted + b.accepted
  t.ok(accepted <= 5, `accepted ${accepted} <= 5`)
  t.equal(accepted, 5)
  await two.usage.flush()
  const spend = await recordedSpend(one, key.id)
  t.ok(spend <= 5 + 1e-9, `recorded spend ${spend} <= budget`)
  const [state] = await two.budgets.report()
  t.match(state, { spentUsd: 5, reservedUsd: 0 })

  const fragile = await createKey(one, { name: 'fragile', budgetDailyUsd: 1 })
  // Every attempt of the next request fails (retries included).
  up.behaviour(() => ({ status: 500, body: { error: { message: 'boom', type: 'server_error' } } }))
  t.ok((await chat(one, fragile.headers, { max_tokens: 5 })).statusCode >= 500)
  await settled(one)
  up.behaviour(undefined)
  t.equal((await chat(one, fragile.headers, { max_tokens: 5 })).statusCode, 200, 'the reservation did not leak')
  await settled(one)
  const refused = await chat(one, fragile.headers, { max_tokens: 5 })
  t.equal(refused.statusCode, 402)
  t.equal(refused.json().error.message, 'key "fragile" daily budget of $1.00 is spent ($1.00 used)')
})

test('Postgres budget store: atomic reserve, settle, expiry, seed once per period', { skip }, async (t) => {
  const databaseUrl = tempPostgresUrl(t)!
  // Builds the schema; the store is then used directly.
  const app = await buildTestApp(t, { gateway: upstreamGateway('http://127.0.0.1:9'), databaseUrl })
  const store = new PostgresBudgetStore(app.db, postgresSchema(databaseUrl))
  const now = Date.now()
  const checks = budgetChecks([{ kind: 'key', id: 'k1', label: 'k1', dailyUsd: 5 }, { kind: 'tenant', id: 't1', label: 't1', monthlyUsd: 100 }], now)

  const results = await Promise.all(Array.from({ length: 20 }, () => store.reserve(randomUUID(), checks, 1, now)))
  t.equal(results.filter((x) => x.ok).length, 5, 'exactly the reservations that fit')
  t.match(results.find((x) => !x.ok), { ok: false, spentUsd: 0, reservedUsd: 5, check: { scope: 'key:k1', window: 'daily' } })

  const first = results.find((x) => x.ok)!
  if (!first.ok) throw new Error('unreachable')
  await store.settle(first.reservation, ['key:k1', 'tenant:t1'], 0.25, now)
  await store.settle(first.reservation, [], 0, now)
  const [k1] = await store.state([{ scope: 'key:k1', period: dayPeriod(now) }], now)
  t.match(k1, { spentUsd: 0.25, reservedUsd: 4 }, 'settled once; the other reservations stay')

  t.equal((await store.reserve(randomUUID(), checks, 4.75, now)).ok, false, 'the live reservations still count')
  t.equal((await store.reserve(randomUUID(), checks, 4.75, now + RESERVATION_TTL_MS + 1)).ok, true, 'expired ones do not')

  const period = 'd:2000-01-01'
  t.equal(await store.seed(period, new Map([['key:k9', 2.5]])), true)
  t.equal(await store.seed(period, new Map([['key:k9', 2.5]])), false, 'never loaded twice')
  t.equal((await store.state([{ scope: 'key:k9', period }], now))[0]!.spentUsd, 2.5)
})
