import { before, test } from 'tap'
import { auth, buildTestApp } from '../helpers/app.js'
import { adminHeaders, chat, freshMinute, mockGateway, settled } from '../helpers/limits.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const twoDeployments = (a: Record<string, unknown>) =>
  mockGateway({
    deployments: [
      { id: 'dep-a', provider: 'mock', model: 'mock-a', ...a },
      { id: 'dep-b', provider: 'mock', model: 'mock-b' },
    ],
  })

test('deployment RPM cap: the third request in the minute goes to the other deployment', async (t) => {
  const app = await buildTestApp(t, { gateway: twoDeployments({ rpm: 2 }) })
  await freshMinute()
  const used: string[] = []
  for (let i = 0; i < 4; i++) {
    const res = await chat(app, auth)
    t.equal(res.statusCode, 200)
    used.push(res.headers['x-switchyard-deployment'] as string)
    await settled(app)
  }
  t.same(used, ['dep-a', 'dep-a', 'dep-b', 'dep-b'], 'A until its cap of 2, then B')

  // The dry run shows why A is left out.
  const dry = await app.inject({ method: 'POST', url: '/admin/routing/test', headers: adminHeaders(app), payload: { request: { model: 'm', messages: [{ role: 'user', content: 'x' }] } } })
  t.equal(dry.statusCode, 200)
  t.same(dry.json().excluded, [{ id: 'dep-a', reason: 'at rpm cap' }])
  t.equal(dry.json().chosen.deploymentId, 'dep-b')
})

test('deployment TPM cap: once its tokens this minute reach the cap, traffic moves on', async (t) => {
  const app = await buildTestApp(t, { gateway: twoDeployments({ tpm: 5 }) })
  await freshMinute()
  const first = await chat(app, auth)
  t.equal(first.headers['x-switchyard-deployment'], 'dep-a')
  t.ok(first.json().usage.total_tokens >= 5, 'the first request alone uses the 5 tokens')
  await settled(app)
  const second = await chat(app, auth)
  t.equal(second.headers['x-switchyard-deployment'], 'dep-b', 'A is at its tpm cap')
  const dry = await app.inject({ method: 'POST', url: '/admin/routing/test', headers: adminHeaders(app), payload: { request: { model: 'm', messages: [] } } })
  t.same(dry.json().excluded, [{ id: 'dep-a', reason: 'at tpm cap' }])
})

test('a capped deployment that is the only one left: the request is refused as unavailable, not sent', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway({ deployments: [{ id: 'only', provider: 'mock', model: 'mock-a', rpm: 1 }] }) })
  await freshMinute()
  t.equal((await chat(app, auth)).statusCode, 200)
  await settled(app)
  const refused = await chat(app, auth)
  t.equal(refused.statusCode, 503)
  t.equal(refused.json().error.code, 'no_available_deployment')
})
