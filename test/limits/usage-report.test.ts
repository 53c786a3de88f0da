import { before, test } from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { adminHeaders, chat, createKey, mockGateway, settled } from '../helpers/limits.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

interface Sent {
  key: string
  model: string
  deployment: string
  prompt: number
  completion: number
  cost: number
}

const sum = (xs: Sent[]) => ({
  requests: xs.length,
  promptTokens: xs.reduce((a, x) => a + x.prompt, 0),
  completionTokens: xs.reduce((a, x) => a + x.completion, 0),
  totalTokens: xs.reduce((a, x) => a + x.prompt + x.completion, 0),
  costUsd: Math.round(xs.reduce((a, x) => a + x.cost, 0) * 1e10) / 1e10,
  // Every answer here carried the upstream's usage: nothing estimated.
  estimatedRequests: 0,
  estimatedCostUsd: 0,
})

test('GET /admin/usage groups spend and tokens by key, model, deployment and day; numbers equal what was sent', async (t) => {
  const app = await buildTestApp(t, {
    gateway: mockGateway({
      deployments: [{ id: 'dep-a', provider: 'mock', model: 'mock-a', pricing: { input: 3, output: 7 } }],
      extraModels: [{ name: 'm2', deployments: [{ id: 'dep-c', provider: 'mock', model: 'mock-c', pricing: { input: 11, output: 13 } }] }],
      limits: { tenants: { acme: { monthlyUsd: 50 } } },
    }),
  })
  const a = await createKey(app, { name: 'alpha', tenant: 'acme', budgetDailyUsd: 20 })
  const b = await createKey(app, { name: 'beta' })
  const sent: Sent[] = []
  const send = async (key: typeof a, model: string, content: string, maxTokens: number) => {
    const res = await chat(app, key.headers, { model, messages: [{ role: 'user', content }], max_tokens: maxTokens })
    t.equal(res.statusCode, 200)
    const u = res.json().usage
    sent.push({ key: key.id, model, deployment: res.headers['x-switchyard-deployment'] as string, prompt: u.prompt_tokens, completion: u.completion_tokens, cost: Number(res.headers['x-switchyard-cost-usd']) })
  }
  await send(a, 'm', 'first question from alpha', 4)
  await send(a, 'm', 'a second, rather longer question from alpha about things', 6)
  await send(a, 'm2', 'alpha asks the other model', 3)
  await send(b, 'm', 'beta here', 2)
  await send(b, 'm', 'beta again with more words in it', 5)
  await send(b, 'm2', 'beta on m2', 8)
  // A refused request is not usage.
  t.equal((await chat(app, { authorization: 'Bearer nope' })).statusCode, 401)
  await settled(app)
  t.ok(sent.every((s) => s.cost > 0 && s.prompt > 0 && s.completion > 0), 'every request had usage and a cost')

  const admin = adminHeaders(app)
  const get = async (query: string) => {
    const res = await app.inject({ method: 'GET', url: `/admin/usage${query}`, headers: admin })
    t.equal(res.statusCode, 200, query)
    return res.json()
  }

  const byKeyModel = await get('?groupBy=key,model')
  t.same(byKeyModel.groupBy, ['key', 'model'])
  const expected = [
    { key: a.id, model: 'm' },
    { key: a.id, model: 'm2' },
    { key: b.id, model: 'm' },
    { key: b.id, model: 'm2' },
  ].map((g) => ({ ...g, ...sum(sent.filter((s) => s.key === g.key && s.model === g.model)) }))
  const actual = byKeyModel.data.map((r: Record<string, unknown>) => ({ key: r.key, model: r.model, requests: r.requests, promptTokens: r.promptTokens, completionTokens: r.completionTokens, totalTokens: r.totalTokens, costUsd: r.costUsd, estimatedRequests: r.estimatedRequests, estimatedCostUsd: r.estimatedCostUsd }))
  const order = (x: { key: string; model: string }) => `${x.key}/${x.model}`
  t.same(actual.sort((x: { key: string; model: string }, y: { key: string; model: string }) => order(x).localeCompare(order(y))), expected.sort((x, y) => order(x).localeCompare(order(y))))
  t.same(byKeyModel.totals, sum(sent))
  t.equal(byKeyModel.data.find((r: { key: string }) => r.key === a.id).keyName, 'alpha')

  const byDeployment = await get('?groupBy=deployment')
  t.same(
    byDeployment.data.map((r: { deployment: string; requests: number; costUsd: number }) => [r.deployment, r.requests, r.costUsd]).sort(),
    [['dep-a', 4, sum(sent.filter((s) => s.deployment === 'dep-a')).costUsd], ['dep-c', 2, sum(sent.filter((s) => s.deployment === 'dep-c')).costUsd]].sort(),
  )
  t.notOk('key' in byDeployment.data[0], 'only the requested groups are in the rows')

  const today = new Date().toISOString().slice(0, 10)
  const byDay = await get(`?groupBy=day&from=${today}&to=${today}`)
  t.same(byDay.data, [{ day: today, ...sum(sent) }])

  const byKey = await get('')
  t.same(byKey.groupBy, ['key'], 'key is the default grouping')
  t.same(byKey.data.map((r: { key: string; requests: number }) => [r.key, r.requests]).sort(), [[a.id, 3], [b.id, 3]].sort())

  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)
  const empty = await get(`?groupBy=model&to=${yesterday}&from=${yesterday}`)
  t.same(empty.data, [], 'nothing outside the range')
  t.equal(empty.totals.requests, 0)

  // Budget state: the key's daily budget and the tenant's monthly one, from the same costs.
  const keyBudget = byKey.budgets.find((x: { scope: string }) => x.scope === 'key')
  t.match(keyBudget, { id: a.id, name: 'alpha', window: 'daily', limitUsd: 20, reservedUsd: 0 })
  t.equal(keyBudget.spentUsd, sum(sent.filter((s) => s.key === a.id)).costUsd)
  const tenantBudget = byKey.budgets.find((x: { scope: string }) => x.scope === 'tenant')
  t.match(tenantBudget, { id: 'acme', window: 'monthly', limitUsd: 50 })
  t.equal(tenantBudget.spentUsd, sum(sent.filter((s) => s.key === a.id)).costUsd, 'only alpha is in tenant acme')

  const bad = await app.inject({ method: 'GET', url: '/admin/usage?groupBy=key,colour', headers: admin })
  t.equal(bad.statusCode, 400)
  const backwards = await app.inject({ method: 'GET', url: `/admin/usage?from=${today}&to=${yesterday}`, headers: admin })
  t.equal(backwards.statusCode, 400)
  t.equal(backwards.json().error.param, 'to')
  const viewer = await app.inject({ method: 'GET', url: '/admin/usage', headers: { authorization: `Bearer ${app.jwt.sign({ sub: 'v', role: 'viewer' })}` } })
  t.equal(viewer.statusCode, 200, 'viewers may read usage')
  t.equal((await app.inject({ method: 'GET', url: '/admin/usage' })).statusCode, 401)
})
