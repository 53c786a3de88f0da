// Two gateway instances on one database: a change made on one reaches the other.
import { test } from 'tap'
import { buildTestApp, tempPostgresUrl } from '../helpers/app.js'

const gateway = {
  providers: [{ name: 'mock', type: 'mock' }],
  models: [{ name: 'm', deployments: [{ provider: 'mock' }] }],
}

/** Polls until `check` holds, at most `limitMs`; the result is asserted, not the time. */
async function eventually(check: () => boolean, limitMs = 5000): Promise<boolean> {
  const until = Date.now() + limitMs
  while (Date.now() < until) {
    if (check()) return true
    await new Promise((r) => setTimeout(r, 20))
  }
  return check()
}

for (const via of ['postgres', 'redis'] as const) {
  test(`a strategy switch and a new key on A reach B (${via})`, async (t) => {
    const url = tempPostgresUrl(t)
    if (!url) {
      t.skip('TEST_DATABASE_URL is not set: cluster test skipped')
      return
    }
    if (via === 'redis' && !process.env.TEST_REDIS_URL) {
      t.skip('TEST_REDIS_URL is not set: Redis pub/sub test skipped')
      return
    }
    const env = via === 'redis' ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}
    const a = await buildTestApp(t, { gateway, databaseUrl: url, env })
    const b = await buildTestApp(t, { gateway, databaseUrl: url, env })
    const admin = { authorization: `Bearer ${a.jwt.sign({ sub: 'ops', role: 'admin' })}` }

    const res = await a.inject({ method: 'POST', url: '/admin/routing/strategy', headers: admin, payload: { strategy: 'latency' } })
    t.equal(res.statusCode, 200)
    t.ok(await eventually(() => b.modelRouting.table.strategy === 'latency'), 'B follows the strategy switch')

    const key = (await a.inject({ method: 'POST', url: '/admin/keys', headers: admin, payload: { name: 'shared' } })).json().key
    t.ok(await eventually(() => b.keys.verify(key) !== undefined), 'B knows the new key')
    const onB = await b.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${key}` }, payload: { model: 'm', messages: [{ role: 'user', content: 'x' }] } })
    t.equal(onB.statusCode, 200)
  })
}
