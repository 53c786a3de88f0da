// An upstream reporting nonsense usage (1.5, "x", negative, huge) does not
// stop later rows from being written (issue 9, point 4), end to end through a
// real upstream: the figures are made sane integers before they reach the
// records, the spend and the response header.
import { before, test } from 'tap'
import { auth, buildTestApp, tempPostgresUrl, tempSqliteUrl } from '../helpers/app.js'
import { completion, pricedGateway, records, sendJson, startUpstream, warmWriterThread } from '../helpers/money.js'
import { adminHeaders } from '../helpers/limits.js'
import { computeCost } from '../../lib/cost/compute.js'
import { MAX_TOKEN_COUNT } from '../../lib/proxy/usage.js'

before(warmWriterThread)

const PRICE = { input: 1, output: 2 }
const json = { ...auth, 'content-type': 'application/json' }

// What the upstream reports, and what the gateway records for it.
const CASES: Array<{ usage: Record<string, unknown>; prompt: number; completion: number }> = [
  { usage: { prompt_tokens: 1.5, completion_tokens: 2, total_tokens: 3.5 }, prompt: 2, completion: 2 },
  { usage: { prompt_tokens: 'x', completion_tokens: 4, total_tokens: 'y' }, prompt: 0, completion: 4 },
  { usage: { prompt_tokens: -3, completion_tokens: '7', total_tokens: 4 }, prompt: 0, completion: 7 },
  { usage: { prompt_tokens: 1e20, completion_tokens: null, total_tokens: 1e20 }, prompt: MAX_TOKEN_COUNT, completion: 0 },
  { usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11, prompt_tokens_details: { cached_tokens: 2.7 }, completion_tokens_details: { reasoning_tokens: 'lots' } }, prompt: 5, completion: 6 },
  { usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 }, prompt: 10, completion: 20 },
]

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`nonsense usage numbers never jam the records (${kind})`, async (t) => {
    const databaseUrl = kind === 'sqlite' ? tempSqliteUrl(t) : tempPostgresUrl(t)
    if (!databaseUrl) {
      t.skip('TEST_DATABASE_URL is not set: Postgres is not tested')
      return
    }
    let n = 0
    const up = await startUpstream(t, (_req, res) => sendJson(res, completion('fine', CASES[n++ % CASES.length]!.usage)))
    const app = await buildTestApp(t, { gateway: pricedGateway(up.url, PRICE), databaseUrl })
    const headers: string[] = []
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < CASES.length; i++) {
        const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { model: 'm', messages: [{ role: 'user', content: `q${i}` }] } })
        t.equal(res.statusCode, 200)
        headers.push(res.headers['x-switchyard-cost-usd'] as string)
      }
      // Flushed between rounds: rows written after the bad ones still arrive.
      await app.usage.flush()
    }
    const rows = await records(app)
    t.equal(rows.length, CASES.length * 2, 'every request has its record')
    t.equal(app.usage.writer.pending, 0, 'nothing is stuck in the buffer')
    rows.forEach((row, i) => {
      const c = CASES[i % CASES.length]!
      t.equal(row.promptTokens, c.prompt, `row ${i}: prompt`)
      t.equal(row.completionTokens, c.completion, `row ${i}: completion`)
      t.ok(Number.isInteger(row.cacheReadTokens) && Number.isInteger(row.reasoningTokens))
      t.equal(row.usageSource, 'upstream')
      const cost = computeCost({ prompt_tokens: c.prompt, completion_tokens: c.completion, total_tokens: 0, prompt_tokens_details: { cached_tokens: row.cacheReadTokens } }, PRICE).totalUsd
      t.equal(row.costUsd, cost, `row ${i}: cost from the sane figures`)
      t.equal(Number(headers[i]), row.costUsd, `row ${i}: the header said the same`)
    })
    t.equal(rows[4]!.cacheReadTokens, 3)
    t.equal(rows[4]!.reasoningTokens, 0)

    const report = await app.inject({ method: 'GET', url: '/admin/usage?groupBy=model', headers: adminHeaders(app) })
    t.equal(report.statusCode, 200)
    const totals = report.json().totals
    t.equal(totals.requests, rows.length)
    t.equal(totals.promptTokens, rows.reduce((s, r) => s + r.promptTokens, 0))
    t.equal(totals.completionTokens, rows.reduce((s, r) => s + r.completionTokens, 0))
  })
}
