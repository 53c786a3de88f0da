// The case end to end (issue 9, point 1): three deployments of one
// model priced $3/$6, $0.2/$0.4 and $1/$2 per 1M tokens; three requests on
// the `model` strategy served by the first; after a switch to `cost` the very
// next request goes to the cheapest, and the dry run prices every candidate
// on one shared expected completion.
import { before, test } from 'tap'
import { auth, buildTestApp } from '../helpers/app.js'
import { adminHeaders } from '../helpers/limits.js'
import { completion, sendJson, startUpstream, warmWriterThread } from '../helpers/money.js'

before(warmWriterThread)

const json = { ...auth, 'content-type': 'application/json' }
const body = { model: 'm', messages: [{ role: 'user', content: 'What is a gateway?' }] }

test('switching to cost sends the next request to the cheapest deployment, whatever history the others have', async (t) => {
  const up = await startUpstream(t, (req, res) => sendJson(res, completion('Four tokens, roughly.', { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 })))
  const app = await buildTestApp(t, {
    gateway: {
      providers: [{ name: 'up', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'k' }],
      models: [
        {
          name: 'm',
          deployments: [
            { id: 'expensive', provider: 'up', model: 'gpt-4o-a', pricing: { input: 3, output: 6 } },
            { id: 'cheap', provider: 'up', model: 'gpt-4o-b', pricing: { input: 0.2, output: 0.4 } },
            { id: 'mid', provider: 'up', model: 'gpt-4o-c', pricing: { input: 1, output: 2 } },
          ],
        },
      ],
      routing: { strategy: 'model' },
    },
  })
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: body })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-switchyard-deployment'], 'expensive', `request ${i + 1} on the model strategy: the first declared`)
  }

  const switched = await app.inject({ method: 'POST', url: '/admin/routing/strategy', headers: adminHeaders(app), payload: { strategy: 'cost' } })
  t.equal(switched.statusCode, 200)
  t.equal(switched.json().strategy, 'cost')

  const dry = await app.inject({ method: 'POST', url: '/admin/routing/test', headers: adminHeaders(app), payload: { request: body } })
  t.equal(dry.statusCode, 200)
  const plan = dry.json() as { expectedCompletion: { tokens: number; source: string; samples: number }; candidates: Array<{ deploymentId: string; reason: string; estimatedCostUsd: number }> }
  t.same(plan.expectedCompletion, { tokens: 4, source: 'model-mean', samples: 3 }, 'the mean of the only deployment with history, for all')
  t.same(plan.candidates.map((c) => c.deploymentId), ['cheap', 'mid', 'expensive'])
  for (const c of plan.candidates) t.match(c.reason, /\+ 4 completion tokens \(model mean over 3 samples\)/, `${c.deploymentId} priced on the shared completion`)
  const costs = plan.candidates.map((c) => c.estimatedCostUsd)
  t.ok(costs[0]! < costs[1]! && costs[1]! < costs[2]!, `estimates in order: ${costs.join(' < ')}`)

  const estimate = await app.inject({ method: 'POST', url: '/v1/routing/estimate-cost', headers: json, payload: body })
  t.equal(estimate.statusCode, 200)
  const lines = estimate.json().candidates as Array<{ completionTokens: number; completionTokensSource: string }>
  t.same(lines.map((l) => [l.completionTokens, l.completionTokensSource]), [[4, 'model-mean'], [4, 'model-mean'], [4, 'model-mean']])

  const next = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: body })
  t.equal(next.statusCode, 200)
  t.equal(next.headers['x-switchyard-deployment'], 'cheap', 'the very next request goes to the $0.2/$0.4 deployment')
  t.equal(up.received.at(-1)!.body.model, 'gpt-4o-b')
})
