// A budget cannot be streamed around (issue 9, point 7): streams the client
// aborts after the first delta each cost what they relayed, the spend grows
// with every one, and the key is refused with 402 once its budget is spent,
// whether or not the upstream would have sent usage. A duplicated
// stream_options, which used to make the upstream skip its usage chunk (the
// gateway set include_usage in the first copy, the upstream read the second),
// is now refused with 400 before any upstream call, so it costs nothing and
// escapes nothing.
import { before, test } from 'tap'
import { request } from 'undici'
import type { FastifyInstance } from 'fastify'
import type { ServerResponse } from 'node:http'
import { listenTestApp } from '../helpers/app.js'
import { createKey, settled } from '../helpers/limits.js'
import { chunk, DONE, openStream, pricedGateway, records, sleep, startUpstream, until, usageChunk, warmWriterThread, type UpstreamRequest } from '../helpers/money.js'

before(warmWriterThread)

// $0.05 a token, in and out: a short prompt and one delta cost about $0.90.
const PRICE = { input: 50_000, output: 50_000 }
const BUDGET = 5
const messages = [{ role: 'user', content: 'Say something long, please.' }]

/**
 * Streams the first delta, then waits: the client aborts after that delta and
 * the gateway must hang up on the upstream, so `rest` (usage included) is
 * never sent. Should the gateway keep the upstream call open, `rest` goes out
 * after a long pause (and the record would say 'upstream'). No short timer: on
 * a loaded machine the abort may take a while to propagate.
 */
function upstreamThat(rest: (res: ServerResponse) => void) {
  return (_req: UpstreamRequest, res: ServerResponse) => {
    openStream(res)
    res.write(chunk({ role: 'assistant', content: 'Once upon a time' }))
    const timer = setTimeout(() => {
      if (!res.destroyed) rest(res)
    }, 15_000)
    timer.unref()
    res.once('close', () => clearTimeout(timer))
  }
}

async function abortAfterFirstDelta(url: string, headers: Record<string, string>, body: Record<string, unknown>): Promise<number> {
  const controller = new AbortController()
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST', signal: controller.signal,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (res.statusCode !== 200) {
    await res.body.text()
    return res.statusCode
  }
  for await (const c of res.body) if (String(c).includes('Once upon')) break
  controller.abort()
  return 200
}

interface Tap {
  equal(a: unknown, b: unknown, msg?: string): void
  ok(a: unknown, msg?: string): void
}

async function spendLoop(t: Tap, app: FastifyInstance, url: string, headers: Record<string, string>, keyId: string) {
  let spent = 0
  let refusedAt = -1
  for (let i = 0; i < 12 && refusedAt < 0; i++) {
    const status = await abortAfterFirstDelta(url, headers, { model: 'm', stream: true, max_tokens: 5, messages })
    if (status === 402) {
      refusedAt = i
      break
    }
    t.equal(status, 200, `stream ${i + 1} admitted`)
    t.ok(await until(async () => (await records(app)).length === i + 1), `stream ${i + 1} recorded`)
    await settled(app)
    const rows = await records(app)
    const recorded = rows.reduce((s, r) => s + r.costUsd, 0)
    t.ok(recorded > spent, `stream ${i + 1}: recorded spend grew to $${recorded.toFixed(4)}`)
    t.equal(rows.at(-1)!.usageSource, 'estimate')
    t.ok(rows.at(-1)!.completionTokens > 0, 'the relayed delta was counted')
    spent = recorded
    const [budget] = (await app.budgets.report()).filter((b) => b.id === keyId && b.window === 'daily')
    t.ok(Math.abs(budget!.spentUsd - recorded) < 1e-9, 'the budget was charged the recorded figure')
    t.equal(budget!.reservedUsd, 0, 'and holds no reservation once settled')
  }
  t.ok(refusedAt > 0, `refused with 402 after ${refusedAt} streams`)
  t.ok(spent <= BUDGET + 1e-9 && spent > BUDGET - 2, `spent $${spent.toFixed(4)} of $${BUDGET}`)
  const refusal = await request(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', stream: true, max_tokens: 5, messages }),
  })
  t.equal(refusal.statusCode, 402)
  t.equal(((await refusal.body.json()) as { error: { code: string } }).error.code, 'budget_exceeded')
}

test('streams aborted after the first delta use up the budget; then 402 (upstream that would send usage at the end)', async (t) => {
  const up = await startUpstream(t, upstreamThat((res) => res.end(chunk({ content: ' there was a gateway.' }) + usageChunk({ prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }) + DONE)))
  const { app, url } = await listenTestApp(t, { gateway: pricedGateway(up.url, PRICE) })
  const key = await createKey(app, { name: 'streamer', budgetDailyUsd: BUDGET })
  await spendLoop(t, app, url, key.headers, key.id)
})

test('the same with an upstream that never sends usage', async (t) => {
  const up = await startUpstream(t, upstreamThat((res) => res.end(chunk({ content: ' the end.' }) + DONE)))
  const { app, url } = await listenTestApp(t, { gateway: pricedGateway(up.url, PRICE) })
  const key = await createKey(app, { name: 'streamer', budgetDailyUsd: BUDGET })
  await spendLoop(t, app, url, key.headers, key.id)
})

test('a duplicated stream_options is refused (400) before any upstream call: nothing escapes the bill', async (t) => {
  const up = await startUpstream(t, upstreamThat((res) => res.end(chunk({ content: ' the end.' }) + DONE)))
  const { app, url } = await listenTestApp(t, { gateway: pricedGateway(up.url, PRICE) })
  const key = await createKey(app, { name: 'trickster', budgetDailyUsd: BUDGET })
  for (let i = 0; i < 3; i++) {
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { ...key.headers, 'content-type': 'application/json' },
      body: `{"model":"m","stream":true,"max_tokens":5,"stream_options":{"include_usage":true},"messages":${JSON.stringify(messages)},"stream_options":{"include_usage":false}}`,
    })
    t.equal(res.statusCode, 400)
    const err = ((await res.body.json()) as { error: { param: string; message: string } }).error
    t.equal(err.param, 'stream_options')
  }
  await sleep(50)
  t.equal(up.received.length, 0, 'the upstream never saw the request')
  t.equal((await records(app)).length, 0)
  const [budget] = (await app.budgets.report()).filter((b) => b.id === key.id && b.window === 'daily')
  t.equal(budget!.spentUsd, 0)
  t.equal(budget!.reservedUsd, 0, 'nothing reserved either (refused before admission)')
  // The key still works for a well-formed stream, which is billed.
  t.equal(await abortAfterFirstDelta(url, key.headers, { model: 'm', stream: true, max_tokens: 5, messages }), 200)
  t.ok(await until(async () => (await records(app)).length === 1))
  t.ok((await records(app))[0]!.costUsd > 0)
})
