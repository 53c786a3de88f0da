// observability.metrics.enabled: false turns Prometheus off (the bench's
// "bare" variant): no GET /metrics, and requests run and answer as before.
import { before, test } from 'tap'
import { auth, buildTestApp } from '../helpers/app.js'
import { warmWriterThread } from '../helpers/money.js'
import { startMockOpenAI } from '../mocks/openai.js'

before(warmWriterThread)

for (const enabled of [true, false]) {
  test(`observability.metrics.enabled: ${enabled}`, async (t) => {
    const up = await startMockOpenAI()
    t.teardown(() => up.close())
    const app = await buildTestApp(t, {
      gateway: {
        providers: [{ name: 'up', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'sk-upstream' }],
        models: [{ name: 'm', deployments: [{ id: 'dep-m', provider: 'up', model: 'up-m', pricing: { input: 1, output: 2 } }] }],
        observability: { metrics: { enabled } },
      },
    })
    t.equal(app.hasDecorator('metrics'), enabled)
    const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...auth, 'content-type': 'application/json' }, payload: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } })
    t.equal(res.statusCode, 200)
    t.ok(res.headers['x-switchyard-cost-usd'], 'cost on the response either way')
    const scrape = await app.inject({ url: '/metrics' })
    t.equal(scrape.statusCode, enabled ? 200 : 404)
  })
}
