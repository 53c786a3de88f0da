// /v1/messages when things go wrong, and what real clients send: every error
// in Anthropic's shape and status (validation, size, auth, permissions,
// budgets, TPM, dead upstreams, every deployment cooling down), failures
// after the first byte as an `error` event, a client that leaves mid-stream
// still recorded; Claude Code's ?beta=true, system entries inside messages,
// newer anthropic-version dates and anthropic-beta forwarding.
import { before, test } from 'tap'
import { createServer } from 'node:net'
import { listenTestApp, MASTER_KEY } from '../helpers/app.js'
import { createKey, freshMinute, mockGateway, settled } from '../helpers/limits.js'
import { records, until, warmWriterThread } from '../helpers/money.js'
import { startMockAnthropic, messageEvents, defaultMessage } from '../mocks/anthropic.js'
import { startMockOpenAI } from '../mocks/openai.js'

before(warmWriterThread)

interface Tap {
  teardown(fn: () => unknown): void
}

const anthropicHeaders = (key = MASTER_KEY) => ({ 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' })
const hello = (model: string, extra: Record<string, unknown> = {}) => ({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hello' }], ...extra })

async function post(url: string, body: unknown, headers: Record<string, string> = anthropicHeaders(), path = '/v1/messages') {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) })
  const text = await res.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}

/** Named SSE events of a body text. */
function events(text: string): Array<{ event: string; data: any }> {
  return text
    .split('\n\n')
    .filter((b) => b.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? ''
      const data = /^data: (.*)$/m.exec(block)?.[1]
      return { event, data: data ? JSON.parse(data) : undefined }
    })
}

function isAnthropicError(t: { equal: Function; ok: Function }, res: { json: any }, type: string): void {
  t.equal(res.json?.type, 'error', 'Anthropic error envelope')
  t.equal(res.json?.error?.type, type)
  t.ok(typeof res.json?.error?.message === 'string' && res.json.error.message.length > 0, 'a message')
}

async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

async function gatewayWithUpstreams(t: Tap, env: Record<string, string> = {}, routing: Record<string, unknown> = {}) {
  const ant = await startMockAnthropic({ apiKey: 'ak' })
  const oai = await startMockOpenAI({ apiKey: 'ok' })
  t.teardown(() => Promise.all([ant.close(), oai.close()]))
  const dead = await deadPort()
  const { app, url } = await listenTestApp(t, {
    env,
    gateway: {
      providers: [
        { name: 'claude', type: 'anthropic', baseUrl: ant.url, apiKey: 'ak' },
        { name: 'oai', type: 'openai', baseUrl: `${oai.url}/v1`, apiKey: 'ok' },
        { name: 'gone', type: 'anthropic', baseUrl: `http://127.0.0.1:${dead}`, apiKey: 'ak' },
      ],
      models: [
        { name: 'claude', deployments: [{ provider: 'claude', model: 'claude-up', pricing: { input: 1, output: 2 } }] },
        { name: 'gpt', deployments: [{ provider: 'oai', model: 'gpt-up', pricing: { input: 1, output: 2 } }] },
        { name: 'dead', deployments: [{ provider: 'gone', model: 'claude-up' }] },
        {
          name: 'duo',
          deployments: [
            { id: 'first', provider: 'claude', model: 'claude-first' },
            { id: 'second', provider: 'claude', model: 'claude-second' },
          ],
        },
      ],
      routing: { strategy: 'model', retries: { attempts: 0 }, cooldown: { enabled: false }, ...routing },
    },
  })
  return { app, url, ant, oai }
}

test('bad requests: Anthropic-shaped 400, 413, 401, 403, 404', async (t) => {
  const { app, url, ant } = await gatewayWithUpstreams(t, { BODY_LIMIT_BYTES: '4096' })
  const malformed = await post(url, '{"model": "claude", "messages": [')
  t.equal(malformed.status, 400)
  isAnthropicError(t, malformed, 'invalid_request_error')

  const noMaxTokens = await post(url, { model: 'claude', messages: [{ role: 'user', content: 'hi' }] })
  t.equal(noMaxTokens.status, 400)
  isAnthropicError(t, noMaxTokens, 'invalid_request_error')
  t.match(noMaxTokens.json.error.message, /max_tokens/)

  const badBlock = await post(url, hello('gpt', { messages: [{ role: 'user', content: [{ type: 'telepathy' }] }] }))
  t.equal(badBlock.status, 400, 'a block a translated backend cannot take')
  isAnthropicError(t, badBlock, 'invalid_request_error')
  t.match(badBlock.json.error.message, /telepathy/)

  const big = await post(url, hello('claude', { messages: [{ role: 'user', content: 'x'.repeat(10_000) }] }))
  t.equal(big.status, 413)
  isAnthropicError(t, big, 'request_too_large')

  const wrongKey = await post(url, hello('claude'), anthropicHeaders('sk-wrong'))
  t.equal(wrongKey.status, 401)
  isAnthropicError(t, wrongKey, 'authentication_error')
  const noKey = await post(url, hello('claude'), { 'content-type': 'application/json' })
  t.equal(noKey.status, 401)
  isAnthropicError(t, noKey, 'authentication_error')

  const limited = await createKey(app, { name: 'gpt-only', allowedModels: ['gpt'] })
  const forbidden = await post(url, hello('claude'), anthropicHeaders(limited.key))
  t.equal(forbidden.status, 403)
  isAnthropicError(t, forbidden, 'permission_error')
  const forbiddenCount = await post(url, { model: 'claude', messages: [{ role: 'user', content: 'hi' }] }, anthropicHeaders(limited.key), '/v1/messages/count_tokens')
  t.equal(forbiddenCount.status, 403, 'count_tokens checks permissions too')
  isAnthropicError(t, forbiddenCount, 'permission_error')
  const bearer = await post(url, hello('gpt'), { authorization: `Bearer ${limited.key}`, 'content-type': 'application/json' })
  t.equal(bearer.status, 200, 'the key as Authorization: Bearer (Claude Code with ANTHROPIC_AUTH_TOKEN)')

  const unknown = await post(url, hello('no-such-model'))
  t.equal(unknown.status, 404)
  isAnthropicError(t, unknown, 'not_found_error')
  t.equal(ant.requests.length, 0, 'none of these reached the upstream')
})

test('what Claude Code sends: ?beta=true, system entries in messages, a newer anthropic-version, anthropic-beta', async (t) => {
  const { url, ant, oai } = await gatewayWithUpstreams(t)
  const headers = { ...anthropicHeaders(), 'anthropic-version': '2031-01-01', 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14' }
  const body = { model: 'claude', max_tokens: 50, system: [{ type: 'text', text: 'You are Claude Code.' }], messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'hi' }], metadata: { user_id: 'u1' } }
  const native = await post(url, body, headers, '/v1/messages?beta=true')
  t.equal(native.status, 200)
  t.equal(native.json.type, 'message')
  const sent = ant.requests[ant.requests.length - 1]!
  t.equal(sent.path, '/v1/messages', 'the gateway posts to the plain endpoint')
  t.equal(sent.headers['anthropic-beta'], 'claude-code-20250219,interleaved-thinking-2025-05-14', 'anthropic-beta forwarded')
  t.equal(sent.headers['anthropic-version'], '2023-06-01', "the provider's configured version is sent")
  t.equal(sent.headers['x-api-key'], 'ak', "the provider's key, not the client's")
  t.same(sent.body.messages, body.messages, 'the body as sent')
  t.equal(native.headers.get('x-switchyard-provider'), 'claude')
  t.equal(native.headers.get('x-switchyard-model'), 'claude-up')
  t.equal(native.headers.get('x-switchyard-attempts'), '1')
  t.ok(Number(native.headers.get('x-switchyard-cost-usd')) > 0, 'the cost header, from the native usage')
  t.ok(native.headers.get('x-switchyard-overhead-ms'))

  const translated = await post(url, { ...body, model: 'gpt' }, headers, '/v1/messages?beta=true')
  t.equal(translated.status, 200)
  t.equal(translated.json.type, 'message')
  const chat = oai.requests[oai.requests.length - 1]!
  t.same((chat.body?.messages as unknown[])[0], { role: 'system', content: 'You are Claude Code.\n\nBe terse.' }, 'system entries joined into the system message')
  t.equal(chat.headers['anthropic-beta'], undefined, 'beta flags are not sent to other providers')
  t.equal(translated.headers.get('x-switchyard-provider'), 'oai')
  t.ok(Number(translated.headers.get('x-switchyard-cost-usd')) > 0)
})

test('upstream failures: dead upstream, a retry on an overloaded native attempt, every deployment cooling down', async (t) => {
  const { app, url, ant } = await gatewayWithUpstreams(t, {}, { retries: { attempts: 1, baseMs: 1 }, cooldown: { consecutiveFailures: 1, cooldownMs: 60_000 } })
  const dead = await post(url, hello('dead'))
  t.equal(dead.status, 500, "api_error carries Anthropic's status for it")
  isAnthropicError(t, dead, 'api_error')
  t.match(dead.json.error.message, /could not be reached/)

  // The first deployment is overloaded: the native attempt fails over to the second.
  ant.script((req) => (req.body.model === 'claude-first' ? { kind: 'error', status: 529, type: 'overloaded_error', message: 'Overloaded' } : undefined))
  const failover = await post(url, hello('duo'))
  t.equal(failover.status, 200)
  t.equal(failover.headers.get('x-switchyard-deployment'), 'second')
  t.equal(ant.requests.filter((r) => r.body.model === 'claude-first').length, 1, 'its circuit opened: no retry on it')

  ant.script(() => ({ kind: 'error', status: 529, type: 'overloaded_error', message: 'Overloaded' }))
  const overloaded = await post(url, hello('duo'))
  t.equal(overloaded.status, 529, "the upstream's overload as Anthropic says it")
  isAnthropicError(t, overloaded, 'overloaded_error')
  const before = ant.requests.length
  const cooling = await post(url, hello('duo'))
  t.equal(cooling.status, 529)
  isAnthropicError(t, cooling, 'overloaded_error')
  t.match(cooling.json.error.message, /cooling down/)
  t.ok(Number(cooling.headers.get('retry-after')) >= 1, 'retry-after')
  t.equal(ant.requests.length, before, 'no upstream was contacted')
  const rows = (await records(app)).filter((r) => r.endpoint === 'messages')
  // The refusal before any attempt is not a usage record, as on chat.
  t.equal(rows.length, 3, 'every request that reached an upstream recorded')
  t.same(rows.map((r) => r.status).sort(), [200, 502, 503])
})

test('failures after the first byte: an error event, and a record', async (t) => {
  const { app, url, ant, oai } = await gatewayWithUpstreams(t)
  ant.script(() => ({ kind: 'cut' }))
  const cut = await post(url, hello('claude', { stream: true }))
  t.equal(cut.status, 200)
  const native = events(cut.text)
  t.equal(native[0]?.event, 'message_start')
  t.equal(native[native.length - 1]?.event, 'error', 'the stream ends with an error event')
  t.equal(native[native.length - 1]?.data.type, 'error')
  t.equal(native[native.length - 1]?.data.error.type, 'api_error')
  t.notOk(native.some((e) => e.event === 'message_stop'))

  // An in-band error from Anthropic is relayed as sent.
  const message = defaultMessage({ model: 'claude-up', messages: [{ role: 'user', content: 'hello' }] }, 0)
  ant.script(() => ({ kind: 'events', events: [...messageEvents(message).slice(0, 3), { event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } }] }))
  const inBand = events((await post(url, hello('claude', { stream: true }))).text)
  t.equal(inBand.filter((e) => e.event === 'error').length, 1, 'one error event')
  t.same(inBand[inBand.length - 1]?.data, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })
  ant.script(null)

  oai.script({ cutAfterChunks: 2 })
  const translated = events((await post(url, hello('gpt', { stream: true }))).text)
  t.equal(translated[0]?.event, 'message_start')
  t.ok(translated.some((e) => e.event === 'content_block_delta'), 'deltas were relayed before the cut')
  t.equal(translated[translated.length - 1]?.event, 'error')
  t.equal(translated[translated.length - 1]?.data.error.type, 'api_error')

  const rows = (await records(app)).filter((r) => r.endpoint === 'messages')
  t.equal(rows.length, 3)
  for (const row of rows) {
    t.not(row.status, 200, `${row.provider}: recorded as failed`)
    t.ok(row.promptTokens > 0, `${row.provider}: the prompt is billed`)
  }
})

test('a client that leaves mid-stream leaves a usage record', async (t) => {
  const { app, url, ant } = await gatewayWithUpstreams(t)
  const message = defaultMessage({ model: 'claude-up', messages: [{ role: 'user', content: 'one two three four five six seven eight' }] }, 0)
  ant.script(() => ({ kind: 'events', events: messageEvents(message), delayMs: 200 }))
  const controller = new AbortController()
  const res = await fetch(`${url}/v1/messages`, { method: 'POST', headers: anthropicHeaders(), body: JSON.stringify(hello('claude', { stream: true })), signal: controller.signal })
  const reader = res.body!.getReader()
  const first = await reader.read()
  t.match(Buffer.from(first.value!).toString(), /message_start/)
  controller.abort()
  t.ok(await until(async () => (await records(app)).some((r) => r.endpoint === 'messages')), 'recorded')
  const [row] = (await records(app)).filter((r) => r.endpoint === 'messages')
  t.equal(row!.status, 499)
  t.equal(row!.error, 'client_closed')
  t.equal(row!.usageSource, 'upstream', 'the input usage from message_start')
  t.ok(row!.promptTokens > 0)
})

test('budgets and TPM on /v1/messages, as on chat', async (t) => {
  const { app, url } = await listenTestApp(t, { gateway: mockGateway() })
  // $1 per completion token on the mock; max_tokens 2 -> up to $2.00 a request.
  const key = await createKey(app, { name: 'team-a', budgetDailyUsd: 5 })
  const codes: number[] = []
  let refusal
  for (let i = 0; i < 4; i++) {
    const res = await post(url, hello('m', { max_tokens: 2 }), anthropicHeaders(key.key))
    codes.push(res.status)
    if (res.status !== 200) refusal ??= res
    await settled(app)
  }
  t.same(codes, [200, 200, 402, 402], '$2 + $2 fit in $5; a third $2 would not')
  isAnthropicError(t, refusal!, 'billing_error')
  t.match(refusal!.json.error.message, /key "team-a" daily budget of \$5\.00 would be exceeded/)
  const spent = (await records(app)).filter((r) => r.endpoint === 'messages' && r.status === 200).reduce((s, r) => s + r.costUsd, 0)
  t.ok(spent > 0 && spent <= 5, `spend recorded against the budget (${spent})`)

  await freshMinute()
  const tokens = await createKey(app, { name: 'tokens', tpmLimit: 100 })
  const tooBig = await post(url, hello('m', { max_tokens: 1000 }), anthropicHeaders(tokens.key))
  t.equal(tooBig.status, 429)
  isAnthropicError(t, tooBig, 'rate_limit_error')
  t.match(tooBig.json.error.message, /tokens per minute \(TPM\): limit 100/)
  t.equal(tooBig.headers.get('x-ratelimit-limit-tokens'), '100')
  t.ok(Number(tooBig.headers.get('retry-after')) >= 1)
  const small = await post(url, hello('m', { max_tokens: 3 }), anthropicHeaders(tokens.key))
  t.equal(small.status, 200)
  t.equal(small.headers.get('x-ratelimit-limit-tokens'), '100')
  t.ok(Number(small.headers.get('x-ratelimit-remaining-tokens')) < 100, 'the request reserved tokens')
})
