// The budget and TPM checks of test/limits/budgets.test.ts and tpm.test.ts,
// repeated on /v1/responses: the same pipeline admits, refuses and settles
// Responses requests (max_output_tokens is the estimate's output bound).
import { before, test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helpers/app.js'
import { createKey, freshMinute, mockGateway, recordedSpend, settled } from '../helpers/limits.js'
import { records, warmWriterThread } from '../helpers/money.js'
import { sseData } from '../helpers/sse.js'
import { countPromptTokens } from '../../lib/cost/tokens.js'

before(warmWriterThread)

const respond = (app: FastifyInstance, headers: Record<string, string>, body: Record<string, unknown> = {}) =>
  app.inject({ method: 'POST', url: '/v1/responses', headers, payload: { model: 'm', input: 'hello there, gateway', ...body } })

test('key daily budget on /v1/responses: first requests pass, then 402 naming the budget; streams count', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway() })
  // $1 per completion token on the mock; max_output_tokens 2 -> $2.00 a request.
  const key = await createKey(app, { name: 'team-a', budgetDailyUsd: 5 })
  const codes: number[] = []
  let refusal
  for (let i = 0; i < 5; i++) {
    const res = await respond(app, key.headers, { max_output_tokens: 2, stream: i === 1 })
    codes.push(res.statusCode)
    if (res.statusCode === 402) refusal ??= res.json().error
    // The mock stops at max_output_tokens: finish_reason length, so the response is incomplete.
    if (i === 1) t.match(res.body, /event: response\.incomplete\n.*"reason":"max_output_tokens"/, 'the streamed one ended')
    await settled(app)
  }
  t.same(codes, [200, 200, 402, 402, 402], '$2 + $2 fit in $5; a third $2 would not')
  t.equal(refusal.type, 'insufficient_quota')
  t.equal(refusal.code, 'budget_exceeded')
  t.match(refusal.message, /^key "team-a" daily budget of \$5\.00 would be exceeded \(\$4\.00 used; this request may cost up to \$2\.00\)$/)

  // Without max_output_tokens the estimate assumes 256 completion tokens ($256 here).
  const other = await createKey(app, { name: 'team-b', budgetDailyUsd: 100 })
  const big = await respond(app, other.headers)
  t.equal(big.statusCode, 402)
  t.match(big.json().error.message, /may cost up to \$256\.00/)

  const [daily] = (await app.budgets.report()).filter((b) => b.id === key.id)
  t.match(daily, { scope: 'key', name: 'team-a', window: 'daily', limitUsd: 5, spentUsd: 4, reservedUsd: 0 })
  t.equal(await recordedSpend(app, key.id), 4)
  const rows = await records(app)
  t.equal(rows.length, 2, 'refused requests leave no usage record')
  t.ok(rows.every((r) => r.endpoint === 'responses' && r.costUsd === 2))
  t.equal(await app.db.storedResponse.count(), 2, 'only the answered ones were stored')
})

test('a continued conversation is charged for its replayed history', async (t) => {
  // $1 per prompt token: the second turn's estimate includes the first turn's items.
  const app = await buildTestApp(t, { gateway: mockGateway({ deployments: [{ id: 'dep-a', provider: 'mock', model: 'mock-a', pricing: { input: 1_000_000, output: 0 } }] }) })
  const key = await createKey(app, { name: 'history' })
  const first = await respond(app, key.headers, { input: 'a fairly long opening message to make the history count for something', max_output_tokens: 5 })
  t.equal(first.statusCode, 200)
  const second = await respond(app, key.headers, { input: 'and?', previous_response_id: first.json().id, max_output_tokens: 5 })
  t.equal(second.statusCode, 200)
  t.ok(second.json().usage.input_tokens > first.json().usage.input_tokens, 'the replayed history is part of the prompt')
  const [a, b] = await records(app)
  t.ok(b!.costUsd > a!.costUsd, 'and of the cost')
})

test('TPM per key on /v1/responses: pre-check refuses a large estimate; actual usage counted after each response', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway() })
  const key = await createKey(app, { name: 'tokens', tpmLimit: 100 })
  await freshMinute()
  const prompt = countPromptTokens({ model: 'm', messages: [{ role: 'user', content: 'hello there, gateway' }] } as never, 'mock', 'mock-a').tokens
  t.ok(prompt > 0 && prompt < 50, `the estimate of the prompt (${prompt}) is small`)

  const big = await respond(app, key.headers, { max_output_tokens: 1000 })
  t.equal(big.statusCode, 429)
  const err = big.json().error
  t.equal(err.type, 'rate_limit_error')
  t.equal(err.code, 'rate_limit_exceeded')
  t.match(err.message, /tokens per minute \(TPM\): limit 100, used 0, requested \d+/)
  t.equal(big.headers['x-ratelimit-limit-tokens'], '100')
  t.equal(big.headers['x-ratelimit-remaining-tokens'], '100')
  t.ok(Number(big.headers['retry-after']) >= 1 && Number(big.headers['retry-after']) <= 60)
  await app.usage.flush()
  t.equal(await app.db.usageRecord.count(), 0, 'nothing was sent upstream')

  const first = await respond(app, key.headers, { max_output_tokens: 3 })
  t.equal(first.statusCode, 200)
  t.equal(first.headers['x-ratelimit-remaining-tokens'], String(100 - (prompt + 3)))
  const used1 = first.json().usage.total_tokens as number
  t.ok(used1 > 0)
  await settled(app)

  // Streamed: the reservation settles when the stream ends, to what it used.
  const second = await respond(app, key.headers, { max_output_tokens: 3, stream: true })
  t.equal(second.statusCode, 200)
  t.equal(second.headers['x-ratelimit-remaining-tokens'], String(100 - used1 - (prompt + 3)), 'actual usage of the first was counted')
  const completed = (sseData(second.body) as Array<Record<string, any>>).find((e) => e.type === 'response.incomplete')
  const used2 = completed!.response.usage.total_tokens as number
  await settled(app)

  const third = await respond(app, key.headers, { max_output_tokens: 3 })
  t.equal(third.statusCode, 200)
  t.equal(third.headers['x-ratelimit-remaining-tokens'], String(100 - used1 - used2 - (prompt + 3)), 'and of the stream')
  await settled(app)

  let refused
  for (let i = 0; i < 50 && !refused; i++) {
    const res = await respond(app, key.headers, { max_output_tokens: 3 })
    await settled(app)
    if (res.statusCode === 429) refused = res
    else t.equal(res.statusCode, 200)
  }
  t.ok(refused, 'the key ran out of tokens within the minute')
  const used = Number(/used (\d+)/.exec(refused!.json().error.message)?.[1])
  t.ok(used + prompt + 3 > 100, 'refused only when used + estimate exceeds the limit')
  t.ok(used <= 100, 'never admitted past the limit by the estimate')
})
