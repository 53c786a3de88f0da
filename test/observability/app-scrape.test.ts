// A scrape of the running gateway after known traffic: a plain request, a
// stream, failovers (plain and streamed) from a failing deployment to a
// healthy one, and a refused request. Requests, tokens and cost read from GET /metrics (parsed with
// parse-prometheus-text-format) equal what was sent, what the client was
// told, and what the usage records in the database hold.
import { before, test } from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { createKey } from '../helpers/limits.js'
import { warmWriterThread } from '../helpers/money.js'
import { chat, resilienceConfig, serverError, twoMocks } from '../helpers/resilience.js'
import { sseData } from '../helpers/sse.js'
import { parseScrape, sumOf } from '../helpers/prometheus.js'
import { METRIC_NAMES } from '../../lib/observability/metrics.js'

before(warmWriterThread)

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b))

test('a scrape after plain, streamed, failed-over (plain and streamed) and refused traffic equals the usage records', async (t) => {
  const { a, b } = await twoMocks(t)
  const app = await buildTestApp(t, {
    gateway: resilienceConfig(a, b, [
      {
        name: 'm',
        // No retry: a failure of "a" fails over to "b" at once.
        retries: { attempts: 0 },
        deployments: [
          { provider: 'a', model: 'up-a', pricing: { input: 3, output: 7 } },
          { provider: 'b', model: 'up-b', pricing: { input: 5, output: 11 } },
        ],
      },
    ]),
  })
  const acme = await createKey(app, { name: 'alpha', tenant: 'acme' })
  const limited = await createKey(app, { name: 'limited', rpmLimit: 1 })
  const post = (headers: Record<string, string>, body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...headers, 'content-type': 'application/json' }, payload: body })

  const told: Array<{ deployment: string; prompt: number; completion: number; cost: number; attempts: number }> = []
  const remember = (res: Awaited<ReturnType<typeof post>>, usage: { prompt_tokens: number; completion_tokens: number }) =>
    told.push({
      deployment: String(res.headers['x-switchyard-deployment']),
      prompt: usage.prompt_tokens,
      completion: usage.completion_tokens,
      cost: Number(res.headers['x-switchyard-cost-usd']),
      attempts: Number(res.headers['x-switchyard-attempts']),
    })

  // 1. Plain.
  const plain = await post(acme.headers, chat('m', { messages: [{ role: 'user', content: 'a plain question' }] }))
  t.equal(plain.statusCode, 200)
  remember(plain, plain.json().usage)

  // 2. Streamed.
  const streamed = await post(acme.headers, chat('m', { stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'a streamed question, somewhat longer' }] }))
  t.equal(streamed.statusCode, 200)
  const last = sseData(streamed.body).filter((e): e is Record<string, unknown> => typeof e === 'object' && !!e.usage).pop()
  t.ok(last, 'the stream carried usage')
  remember(streamed, last!.usage as { prompt_tokens: number; completion_tokens: number })

  // 3. Failover: "a" answers 500, "b" answers.
  a.script(serverError)
  const failover = await post(acme.headers, chat('m', { messages: [{ role: 'user', content: 'this one fails over to b' }] }))
  t.equal(failover.statusCode, 200)
  t.equal(failover.headers['x-switchyard-deployment'], 'm:b:up-b')
  t.equal(failover.headers['x-switchyard-attempts'], '2')
  remember(failover, failover.json().usage)

  // 4. A streamed failover.
  a.script(serverError)
  const streamedFailover = await post(acme.headers, chat('m', { stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'a stream that fails over' }] }))
  t.equal(streamedFailover.statusCode, 200)
  t.equal(streamedFailover.headers['x-switchyard-deployment'], 'm:b:up-b')
  const lastOfFailover = sseData(streamedFailover.body).filter((e): e is Record<string, unknown> => typeof e === 'object' && !!e.usage).pop()
  t.ok(lastOfFailover, 'the failed-over stream carried usage')
  remember(streamedFailover, lastOfFailover!.usage as { prompt_tokens: number; completion_tokens: number })

  // 5. Refused: the second request of a key limited to 1 per minute.
  const allowed = await post(limited.headers, chat('m'))
  t.equal(allowed.statusCode, 200)
  remember(allowed, allowed.json().usage)
  const refused = await post(limited.headers, chat('m'))
  t.equal(refused.statusCode, 429, 'refused by the key RPM limit')

  await app.usage.flush()
  const records = await app.db.usageRecord.findMany()
  t.equal(records.length, 5, 'one usage record per answered request, none for the refusal')
  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 200)
  const s = parseScrape(res.body)

  // Requests: five answered, one refused, under the configured model name.
  t.equal(sumOf(s, METRIC_NAMES.requests, { entry_point: 'chat', model: 'm', status_class: '2xx' }), 5)
  t.equal(sumOf(s, METRIC_NAMES.requests, { entry_point: 'chat', model: 'm', status_class: '4xx' }), 1)
  t.equal(sumOf(s, METRIC_NAMES.requests), 6, 'nothing else counted')
  t.equal(sumOf(s, METRIC_NAMES.refusals, { kind: 'rate_limit_requests' }), 1)
  t.equal(sumOf(s, METRIC_NAMES.refusals), 1)

  // Attempts: "a" answered three and failed over twice; "b" answered twice.
  t.equal(sumOf(s, METRIC_NAMES.attempts, { deployment: 'm:a:up-a', outcome: 'ok' }), 3)
  t.equal(sumOf(s, METRIC_NAMES.attempts, { deployment: 'm:a:up-a', outcome: 'failed_over' }), 2)
  t.equal(sumOf(s, METRIC_NAMES.attempts, { deployment: 'm:b:up-b', outcome: 'ok' }), 2)
  t.equal(sumOf(s, METRIC_NAMES.attempts), 7)
  t.equal(records.reduce((n, r) => n + r.attempts, 0), 7, 'the records count the same attempts')

  // Tokens: the GenAI histogram's sums equal the records and what the clients were told.
  const tokens = (type: string, where: Record<string, string> = {}) => sumOf(s, `${METRIC_NAMES.tokenUsage}_sum`, { gen_ai_token_type: type, ...where })
  const recordedPrompt = records.reduce((n, r) => n + r.promptTokens, 0)
  const recordedCompletion = records.reduce((n, r) => n + r.completionTokens, 0)
  t.ok(recordedPrompt > 0 && recordedCompletion > 0)
  t.equal(tokens('input'), recordedPrompt, 'input tokens = the records')
  t.equal(tokens('output'), recordedCompletion, 'output tokens = the records')
  t.equal(tokens('input'), told.reduce((n, x) => n + x.prompt, 0), 'input tokens = what the clients were told')
  t.equal(tokens('output'), told.reduce((n, x) => n + x.completion, 0), 'output tokens = what the clients were told')
  t.equal(sumOf(s, `${METRIC_NAMES.tokenUsage}_count`, { gen_ai_token_type: 'input' }), 5, 'one observation per answered request')
  for (const d of ['m:a:up-a', 'm:b:up-b']) {
    const mine = records.filter((r) => r.deploymentId === d)
    t.equal(tokens('input', { deployment: d }), mine.reduce((n, r) => n + r.promptTokens, 0), `input tokens of ${d}`)
    t.equal(tokens('output', { deployment: d }), mine.reduce((n, r) => n + r.completionTokens, 0), `output tokens of ${d}`)
  }
  t.equal(sumOf(s, `${METRIC_NAMES.tokenUsage}_sum`, { deployment: 'm:b:up-b', gen_ai_response_model: 'up-b', gen_ai_provider_name: 'openai', gen_ai_request_model: 'm', server_address: '127.0.0.1' }), tokens('input', { deployment: 'm:b:up-b' }) + tokens('output', { deployment: 'm:b:up-b' }), 'GenAI labels of the deployment that answered')

  // Cost: the counter equals the records, in total, per deployment and per tenant.
  const recordedCost = records.reduce((n, r) => n + r.costUsd, 0)
  t.ok(recordedCost > 0)
  t.ok(close(sumOf(s, METRIC_NAMES.cost), recordedCost), `cost ${sumOf(s, METRIC_NAMES.cost)} = recorded ${recordedCost}`)
  for (const d of ['m:a:up-a', 'm:b:up-b']) {
    const want = records.filter((r) => r.deploymentId === d).reduce((n, r) => n + r.costUsd, 0)
    t.ok(want > 0 && close(sumOf(s, METRIC_NAMES.cost, { deployment: d }), want), `cost of ${d}`)
  }
  const acmeCost = records.filter((r) => r.tenant === 'acme').reduce((n, r) => n + r.costUsd, 0)
  t.equal(records.filter((r) => r.tenant === 'acme').length, 4)
  t.ok(close(sumOf(s, METRIC_NAMES.cost, { tenant: 'acme' }), acmeCost), 'cost of tenant acme')
  const nonStream = told.filter((x) => Number.isFinite(x.cost))
  t.equal(nonStream.length, 3, 'the non-streamed answers carried their cost in a header')
  const failoverRecord = records.find((r) => r.deploymentId === 'm:b:up-b' && !r.stream)!
  t.ok(close(failoverRecord.costUsd, told[2]!.cost), 'the failover was charged at the answering deployment')
  t.equal(records.filter((r) => r.deploymentId === 'm:b:up-b' && r.stream).length, 1, 'the streamed failover recorded at b')

  // Streams: time to first token for the two streams; the request duration for every request.
  t.equal(sumOf(s, `${METRIC_NAMES.timeToFirstToken}_count`), 2, 'two streams')
  t.equal(sumOf(s, `${METRIC_NAMES.timeToFirstToken}_count`, { deployment: 'm:b:up-b' }), 1, 'one of them answered by b')
  t.equal(sumOf(s, `${METRIC_NAMES.requestDuration}_count`), 6, 'durations of every request')
  t.equal(sumOf(s, `${METRIC_NAMES.overhead}_count`), 5, 'overhead of every answered request')
  t.equal(records.filter((r) => r.stream).length, 2)
})
