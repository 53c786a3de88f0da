// Tokens per minute hold under concurrency (issue 9, point 3): each request's
// estimate is reserved at admission in one atomic step, so 20 requests of
// ~200 tokens at once against a 1,000-token limit admit 5, not 20; after they
// finish, the reservations settle to the tokens actually used.
import { before, test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, tempSqliteUrl } from '../helpers/app.js'
import { chat, createKey, freshMinute, redisPrefix, settled } from '../helpers/limits.js'
import { completion, sendJson, startUpstream, until, warmWriterThread } from '../helpers/money.js'
import { countPromptTokens } from '../../lib/cost/tokens.js'

before(warmWriterThread)

const messages = [{ role: 'user', content: 'hello there, gateway' }]
const ESTIMATE = 200
const LIMIT = 1000
const COMPLETION = 3

function gateway(url: string, limits?: unknown) {
  return {
    providers: [{ name: 'up', type: 'openai', baseUrl: `${url}/v1`, apiKey: 'k' }],
    models: [{ name: 'm', deployments: [{ id: 'dep-up', provider: 'up', model: 'gpt-4o-mini', pricing: { input: 1, output: 1 } }] }],
    routing: { strategy: 'model' },
    ...(limits ? { limits } : {}),
  }
}

interface Tap {
  teardown(fn: () => unknown): void
  equal(a: unknown, b: unknown, msg?: string): void
  ok(a: unknown, msg?: string): void
}

/** 20 requests at once, spread over `apps`; the upstream answers none until every refusal is back. */
async function burst(t: Tap, apps: FastifyInstance[], open: () => void, received: () => number, keyHeaders: Record<string, string>) {
  const prompt = countPromptTokens({ model: 'm', messages } as never, 'openai', 'gpt-4o-mini').tokens
  const maxTokens = ESTIMATE - prompt
  t.ok(maxTokens > 0, `prompt ${prompt} + max_tokens ${maxTokens} = an estimate of ${ESTIMATE}`)
  let answered = 0
  const pending = Array.from({ length: 20 }, (_, i) =>
    chat(apps[i % apps.length]!, keyHeaders, { messages, max_tokens: maxTokens }).then((r) => {
      answered++
      return r
    }),
  )
  // Every request was either refused or reached the upstream, where it waits.
  t.ok(await until(() => answered + received() === 20, 30_000), 'all 20 were admitted or refused')
  open()
  const responses = await Promise.all(pending)
  for (const a of apps) await settled(a)
  const admitted = responses.filter((r) => r.statusCode === 200).length
  const refused = responses.filter((r) => r.statusCode === 429)
  t.equal(admitted + refused.length, 20, 'only 200s and 429s')
  t.ok(refused.every((r) => /tokens per minute/.test(r.json().error.message)), 'refused by the TPM limit')
  return { admitted, prompt, maxTokens }
}

/** An upstream that holds every answer until open() is called. */
async function upstream(t: Tap) {
  let open!: () => void
  const gate = new Promise<void>((r) => (open = r))
  const prompt = countPromptTokens({ model: 'm', messages } as never, 'openai', 'gpt-4o-mini').tokens
  const up = await startUpstream(t, async (_req, res) => {
    await gate
    sendJson(res, completion('ok', { prompt_tokens: prompt, completion_tokens: COMPLETION, total_tokens: prompt + COMPLETION }))
  })
  return { up, open }
}

test('memory: 20 parallel requests of ~200 tokens against 1,000 TPM admit at most 5; settlement gives back the unused estimate', async (t) => {
  const { up, open } = await upstream(t)
  const app = await buildTestApp(t, { gateway: gateway(up.url) })
  const key = await createKey(app, { name: 'tpm', tpmLimit: LIMIT })
  await freshMinute()
  const { admitted, prompt, maxTokens } = await burst(t, [app], open, () => up.received.length, key.headers)
  t.ok(admitted <= 5, `${admitted} admitted`)
  t.equal(admitted, 5, 'exactly the 5 estimates that fit')
  t.equal(up.received.length, admitted, 'refused requests never reached the upstream')

  // Settled to what they used (prompt + 3 each): room for more in the same minute.
  const used = admitted * (prompt + COMPLETION)
  const next = await chat(app, key.headers, { messages, max_tokens: maxTokens })
  t.equal(next.statusCode, 200, 'the unused part of the estimates was given back')
  t.equal(next.headers['x-ratelimit-remaining-tokens'], String(LIMIT - used - ESTIMATE))
})

test('Redis, two instances: 20 parallel requests admit at most 5 between them', { skip: process.env.TEST_REDIS_URL ? false : 'TEST_REDIS_URL is not set: the Redis TPM store is not tested' }, async (t) => {
  const r = redisPrefix(t)!
  const { up, open } = await upstream(t)
  const databaseUrl = tempSqliteUrl(t)
  const env = { REDIS_URL: r.url }
  const one = await buildTestApp(t, { gateway: gateway(up.url, { redisKeyPrefix: r.prefix }), databaseUrl, env })
  const two = await buildTestApp(t, { gateway: gateway(up.url, { redisKeyPrefix: r.prefix }), databaseUrl, env })
  const key = await createKey(one, { name: 'tpm', tpmLimit: LIMIT })
  await two.keys.reload()
  await freshMinute()
  const { admitted, prompt, maxTokens } = await burst(t, [one, two], open, () => up.received.length, key.headers)
  t.ok(admitted <= 5, `${admitted} admitted`)
  t.equal(admitted, 5)
  const used = admitted * (prompt + COMPLETION)
  const next = await chat(two, key.headers, { messages, max_tokens: maxTokens })
  t.equal(next.statusCode, 200)
  t.equal(next.headers['x-ratelimit-remaining-tokens'], String(LIMIT - used - ESTIMATE), 'both instances settled into the shared counter')
})
