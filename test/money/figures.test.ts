// What the client is told a request cost (x-switchyard-cost-usd, or the
// stream's switchyard.cost_usd) is what the record holds, and GET
// /admin/usage adds up exactly those records (issue 9, point 6): upstream
// figures and estimates, streamed and not.
import { before, test } from 'tap'
import { auth, buildTestApp } from '../helpers/app.js'
import { adminHeaders } from '../helpers/limits.js'
import { sseData } from '../helpers/sse.js'
import { chunk, completion, DONE, openStream, pricedGateway, records, sendJson, startUpstream, usageChunk, warmWriterThread } from '../helpers/money.js'

before(warmWriterThread)

const json = { ...auth, 'content-type': 'application/json' }
const PRICE = { input: 3, output: 15, cacheRead: 0.3 }
const round10 = (v: number) => Math.round(v * 1e10) / 1e10

test('header, usage chunk, record and /admin/usage report the same figures', async (t) => {
  // The prompt's first word picks the upstream's behaviour.
  const up = await startUpstream(t, (req, res) => {
    const kind = String((req.body.messages as Array<{ content: string }>)[0]!.content).split(' ')[0]
    const usage = { prompt_tokens: 1234, completion_tokens: 567, total_tokens: 1801, prompt_tokens_details: { cached_tokens: 1000 } }
    if (kind === 'plain') return sendJson(res, completion('An answer.', usage))
    if (kind === 'plain-nousage') return sendJson(res, completion('An answer the upstream did not count.'))
    openStream(res)
    res.write(chunk({ role: 'assistant', content: 'Streamed ' }))
    res.write(chunk({ content: 'answer.' }))
    if (kind === 'stream') res.write(usageChunk(usage))
    res.end(DONE)
  })
  const app = await buildTestApp(t, { gateway: pricedGateway(up.url, PRICE) })

  const reported = new Map<string, { costUsd: number; prompt: number; completion: number; source: string }>()
  for (const kind of ['plain', 'plain-nousage', 'stream', 'stream-nousage']) {
    for (let i = 0; i < 3; i++) {
      const stream = kind.startsWith('stream')
      const res = await app.inject({
        method: 'POST', url: '/v1/chat/completions', headers: json,
        payload: { model: 'm', messages: [{ role: 'user', content: `${kind} question number ${i} ${'word '.repeat(i * 7)}` }], ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}) },
      })
      t.equal(res.statusCode, 200)
      const id = res.headers['x-request-id'] as string
      if (!stream) {
        const body = res.json() as { usage?: { prompt_tokens: number; completion_tokens: number } }
        reported.set(id, {
          costUsd: Number(res.headers['x-switchyard-cost-usd']),
          prompt: body.usage?.prompt_tokens ?? -1,
          completion: body.usage?.completion_tokens ?? -1,
          source: res.headers['x-switchyard-usage-source'] as string,
        })
      } else {
        const events = sseData(res.body)
        const last = events[events.length - 2] as { usage: { prompt_tokens: number; completion_tokens: number }; switchyard: { cost_usd: number; usage_source: string } }
        reported.set(id, { costUsd: last.switchyard.cost_usd, prompt: last.usage.prompt_tokens, completion: last.usage.completion_tokens, source: last.switchyard.usage_source })
      }
    }
  }

  const rows = await records(app)
  t.equal(rows.length, 12)
  for (const row of rows) {
    const r = reported.get(row.requestId)!
    t.ok(r, `record ${row.requestId} belongs to a request made`)
    t.equal(r.costUsd, row.costUsd, `${row.requestId}: reported cost = recorded cost`)
    t.equal(r.source, row.usageSource, `${row.requestId}: same source`)
    t.ok(row.costUsd > 0)
    // A non-streamed body is the upstream's own: it has no usage when the upstream sent none.
    if (r.prompt >= 0) {
      t.equal(r.prompt, row.promptTokens)
      t.equal(r.completion, row.completionTokens)
    }
  }
  t.equal(rows.filter((r) => r.usageSource === 'estimate').length, 6)

  const report = await app.inject({ method: 'GET', url: '/admin/usage?groupBy=model', headers: adminHeaders(app) })
  t.equal(report.statusCode, 200)
  const { totals, data } = report.json()
  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((s, r) => s + f(r), 0)
  t.equal(totals.requests, 12)
  t.equal(totals.costUsd, round10(sum((r) => r.costUsd)), 'spend = the sum of the records')
  t.equal(totals.costUsd, round10([...reported.values()].reduce((s, r) => s + r.costUsd, 0)), 'and of what the clients were told')
  t.equal(totals.promptTokens, sum((r) => r.promptTokens))
  t.equal(totals.completionTokens, sum((r) => r.completionTokens))
  t.equal(totals.estimatedRequests, 6)
  t.equal(totals.estimatedCostUsd, round10(sum((r) => (r.usageSource === 'estimate' ? r.costUsd : 0))))
  t.equal(data.length, 1)
  t.equal(data[0].costUsd, totals.costUsd)
})
