import { before, test } from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { chat, createKey, freshMinute, mockGateway, settled } from '../helpers/limits.js'
import { countPromptTokens } from '../../lib/cost/tokens.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const messages = [{ role: 'user', content: 'hello there, gateway' }]

test('TPM per key: pre-check refuses a large estimate; actual usage is counted after each response', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway() })
  const key = await createKey(app, { name: 'tokens', tpmLimit: 100 })
  await freshMinute()
  const prompt = countPromptTokens({ model: 'm', messages } as never, 'mock', 'mock-a').tokens
  t.ok(prompt > 0 && prompt < 50, `the estimate of the prompt (${prompt}) is small`)

  // Estimate = prompt + max_tokens > 100: refused before any upstream call.
  const big = await chat(app, key.headers, { max_tokens: 1000 })
  t.equal(big.statusCode, 429)
  const err = big.json().error
  t.equal(err.type, 'rate_limit_error')
  t.equal(err.code, 'rate_limit_exceeded')
  t.match(err.message, /tokens per minute \(TPM\): limit 100, used 0, requested \d+/)
  t.equal(big.headers['x-ratelimit-limit-tokens'], '100')
  t.equal(big.headers['x-ratelimit-remaining-tokens'], '100')
  t.ok(big.headers['x-ratelimit-reset-tokens'])
  t.ok(Number(big.headers['retry-after']) >= 1 && Number(big.headers['retry-after']) <= 60)
  await app.usage.flush()
  t.equal(await app.db.usageRecord.count(), 0, 'nothing was sent upstream')

  // A small request passes and reports what is left once its estimate is reserved.
  const first = await chat(app, key.headers, { max_tokens: 3 })
  t.equal(first.statusCode, 200)
  t.equal(first.headers['x-ratelimit-limit-tokens'], '100')
  t.equal(first.headers['x-ratelimit-remaining-tokens'], String(100 - (prompt + 3)))
  const used1 = first.json().usage.total_tokens as number
  t.ok(used1 > 0)
  await settled(app)

  // The next one sees the actual usage of the first (its reservation settled), and reserves its own estimate.
  const second = await chat(app, key.headers, { max_tokens: 3 })
  t.equal(second.statusCode, 200)
  t.equal(second.headers['x-ratelimit-remaining-tokens'], String(100 - used1 - (prompt + 3)), 'actual usage was counted')
  await settled(app)

  // Keep going until used + estimate no longer fits: refused, with the used count in the message.
  let refused
  for (let i = 0; i < 50 && !refused; i++) {
    const res = await chat(app, key.headers, { max_tokens: 3 })
    await settled(app)
    if (res.statusCode === 429) refused = res
    else t.equal(res.statusCode, 200)
  }
  t.ok(refused, 'the key ran out of tokens within the minute')
  const used = Number(/used (\d+)/.exec(refused!.json().error.message)?.[1])
  t.ok(used + prompt + 3 > 100, 'refused only when used + estimate exceeds the limit')
  t.ok(used <= 100, 'never admitted past the limit by the estimate')

  // Other keys are unaffected.
  const other = await createKey(app, { name: 'other', tpmLimit: 100 })
  t.equal((await chat(app, other.headers, { max_tokens: 3 })).statusCode, 200)
})

test('TPM default from limits.tpm and embeddings count their input', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway({ limits: { tpm: 20 } }) })
  const key = await createKey(app, { name: 'plain' })
  // No max_tokens: only the prompt estimate is checked.
  const ok = await chat(app, key.headers)
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['x-ratelimit-limit-tokens'], '20')
  const long = await app.inject({ method: 'POST', url: '/v1/embeddings', headers: key.headers, payload: { model: 'm', input: 'word '.repeat(100) } })
  t.equal(long.statusCode, 429, 'a 100-token embedding input does not fit in 20 TPM')
  t.match(long.json().error.message, /tokens per minute/)
})
