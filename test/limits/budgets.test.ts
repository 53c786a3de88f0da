import { before, test } from 'tap'
import { randomUUID } from 'node:crypto'
import { startMockOpenAI, type MockOpenAI } from '../mocks/openai.js'
import { buildTestApp, tempSqliteUrl } from '../helpers/app.js'
import { burst, chat, createKey, mockGateway, recordedSpend, settled, upstreamGateway } from '../helpers/limits.js'
import { dayPeriod } from '../../lib/limits/periods.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

async function upstream(t: { teardown(fn: () => unknown): void }): Promise<MockOpenAI> {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  // Slow enough that the burst's requests are all in flight together.
  up.behaviour(() => ({ delayMs: 150 }))
  return up
}

test('key daily budget: first requests pass, then 402 naming the budget', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway() })
  // $1 per completion token on the mock; max_tokens 2 -> $2.00 a request.
  const key = await createKey(app, { name: 'team-a', budgetDailyUsd: 5 })
  const codes: number[] = []
  let refusal
  for (let i = 0; i < 5; i++) {
    const res = await chat(app, key.headers, { max_tokens: 2 })
    codes.push(res.statusCode)
    if (res.statusCode === 402) refusal ??= res.json().error
    await settled(app)
  }
  t.same(codes, [200, 200, 402, 402, 402], '$2 + $2 fit in $5; a third $2 would not')
  t.equal(refusal.type, 'insufficient_quota')
  t.equal(refusal.code, 'budget_exceeded')
  t.match(refusal.message, /^key "team-a" daily budget of \$5\.00 would be exceeded \(\$4\.00 used; this request may cost up to \$2\.00\)$/)

  // Without max_tokens the estimate assumes 256 completion tokens ($256 here).
  const other = await createKey(app, { name: 'team-b', budgetDailyUsd: 100 })
  const big = await chat(app, other.headers)
  t.equal(big.statusCode, 402)
  t.match(big.json().error.message, /may cost up to \$256\.00/)

  const [daily] = (await app.budgets.report()).filter((b) => b.id === key.id)
  t.match(daily, { scope: 'key', name: 'team-a', window: 'daily', limitUsd: 5, spentUsd: 4, reservedUsd: 0 })
  t.equal(await recordedSpend(app, key.id), 4)
})

test('key monthly budget is checked too', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway() })
  const key = await createKey(app, { name: 'monthly', budgetMonthlyUsd: 2.5 })
  const a = await chat(app, key.headers, { max_tokens: 1 })
  await settled(app)
  const b = await chat(app, key.headers, { max_tokens: 1 })
  await settled(app)
  const c = await chat(app, key.headers, { max_tokens: 1 })
  t.same([a.statusCode, b.statusCode, c.statusCode], [200, 200, 402])
  t.match(c.json().error.message, /^key "monthly" monthly budget of \$2\.50 would be exceeded/)
})

test('concurrency: 20 requests at once against a budget for 5 -> at most 5 accepted, spend within the budget', async (t) => {
  const up = await upstream(t)
  const app = await buildTestApp(t, { gateway: upstreamGateway(up.url) })
  const key = await createKey(app, { name: 'burst', budgetDailyUsd: 5 })
  const r = await burst(app, key.headers, 20)
  t.same(r.other, [], 'every request either passed or was refused for the budget')
  // Estimate = actual = $1.00, so the reservations admit exactly 5; without an
  // atomic check-and-reserve all 20 would see $0 spent and pass.
  t.ok(r.accepted <= 5, `accepted ${r.accepted} <= 5`)
  t.equal(r.accepted, 5)
  t.equal(r.refused, 20 - r.accepted)
  t.equal(up.requests.length, r.accepted, 'refused requests never reached the upstream')
  const spend = await recordedSpend(app, key.id)
  t.ok(spend <= 5 + 1e-9, `recorded spend ${spend} <= budget`)
  const [state] = await app.budgets.report()
  t.equal(state!.spentUsd, spend, 'the store holds what was recorded')
  t.equal(state!.reservedUsd, 0, 'every reservation settled')
})

test('a failed upstream call releases its reservation', async (t) => {
  const up = await upstream(t)
  const app = await buildTestApp(t, { gateway: upstreamGateway(up.url) })
  const key = await createKey(app, { name: 'fragile', budgetDailyUsd: 1 })
  // Every attempt of the next request fails (retries included).
  up.behaviour(() => ({ status: 500, body: { error: { message: 'boom', type: 'server_error' } } }))
  const failed = await chat(app, key.headers, { max_tokens: 5 })
  t.ok(failed.statusCode >= 500, `the upstream failure is passed on (${failed.statusCode})`)
  await settled(app)
  up.behaviour(undefined)
  const [state] = await app.budgets.report()
  t.match(state, { spentUsd: 0, reservedUsd: 0 }, 'nothing spent, nothing held')
  // The $1 budget still admits one $1 request: the failed one's reservation is gone.
  t.equal((await chat(app, key.headers, { max_tokens: 5 })).statusCode, 200)
  await settled(app)
  const after = await chat(app, key.headers, { max_tokens: 5 })
  t.equal(after.statusCode, 402)
  t.match(after.json().error.message, /^key "fragile" daily budget of \$1\.00 is spent \(\$1\.00 used\)$/)
})

test('streamed requests settle their actual cost', async (t) => {
  const up = await upstream(t)
  const app = await buildTestApp(t, { gateway: upstreamGateway(up.url) })
  const key = await createKey(app, { name: 'streamer', budgetDailyUsd: 10 })
  const res = await chat(app, key.headers, { max_tokens: 5, stream: true })
  t.equal(res.statusCode, 200)
  t.match(res.body, /data: \[DONE\]/)
  await settled(app)
  const [state] = await app.budgets.report()
  t.match(state, { spentUsd: 1, reservedUsd: 0 })
})

test('tenant budgets: keys of one tenant share it; other tenants are unaffected', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway({ limits: { tenants: { acme: { dailyUsd: 3 } } } }) })
  const k1 = await createKey(app, { name: 'acme-1', tenant: 'acme' })
  const k2 = await createKey(app, { name: 'acme-2', tenant: 'acme' })
  const k3 = await createKey(app, { name: 'globex-1', tenant: 'globex' })
  const codes: number[] = []
  let refusal
  for (const k of [k1, k2, k1, k2, k1]) {
    // max_tokens 1 -> $1.00 on the mock.
    const res = await chat(app, k.headers, { max_tokens: 1 })
    codes.push(res.statusCode)
    if (res.statusCode === 402) refusal ??= res.json().error.message
    await settled(app)
  }
  t.same(codes, [200, 200, 200, 402, 402])
  t.equal(refusal, 'tenant "acme" daily budget of $3.00 is spent ($3.00 used)')
  t.equal((await chat(app, k3.headers, { max_tokens: 1 })).statusCode, 200, 'another tenant')
  const tenant = (await app.budgets.report()).find((b) => b.scope === 'tenant')
  t.match(tenant, { id: 'acme', window: 'daily', limitUsd: 3, spentUsd: 3, reservedUsd: 0 })
})

test("on start, today's spend is loaded from the usage records", async (t) => {
  const databaseUrl = tempSqliteUrl(t)
  const first = await buildTestApp(t, { gateway: mockGateway({ limits: { tenants: { acme: { dailyUsd: 10 } } } }), databaseUrl })
  const key = await createKey(first, { name: 'team-a', tenant: 'acme', budgetDailyUsd: 5 })
  const row = (over: Record<string, unknown>) => ({
    id: randomUUID(), requestId: randomUUID(), keyId: key.id, tenant: 'acme', model: 'm', deploymentId: 'dep-a', provider: 'mock',
    stream: false, status: 200, attempts: 1, createdAt: new Date(), ...over,
  })
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000)
  await first.db.usageRecord.createMany({
    data: [row({ costUsd: 3 }), row({ costUsd: 2.01 }), row({ costUsd: 100, createdAt: twoDaysAgo }), row({ keyId: null, tenant: 'acme', costUsd: 4 })],
  })
  await first.close()

  const second = await buildTestApp(t, { gateway: mockGateway({ limits: { tenants: { acme: { dailyUsd: 10 } } } }), databaseUrl })
  const res = await chat(second, key.headers, { max_tokens: 1 })
  t.equal(res.statusCode, 402)
  t.equal(res.json().error.message, 'key "team-a" daily budget of $5.00 is spent ($5.01 used)', 'older records are not today')
  const state = await second.budgets.store.state([{ scope: 'tenant:acme', period: dayPeriod(Date.now()) }], Date.now())
  t.equal(state[0]!.spentUsd, 9.01, "the tenant's spend includes records of every key")
})
