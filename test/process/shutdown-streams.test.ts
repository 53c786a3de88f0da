// SIGTERM during a 30-second stream with SHUTDOWN_GRACE_MS=1000 (issue 9,
// point 5): once the grace is over the gateway ends the stream (the client
// gets an SSE error event), and the stream's record, charged with what was
// relayed, is in the database when the process has exited. Runs the built
// server (dist/), as an operator would.
import { test } from 'tap'
import { request } from 'undici'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createDb } from '../../lib/storage/client.js'
import { tempSqliteUrl } from '../helpers/app.js'
import { masterAuth, startGatewayProcess } from '../helpers/process.js'
import { sseData } from '../helpers/sse.js'

test('a stream still open when the grace runs out is ended and recorded before exit', async (t) => {
  // 300 deltas, one every 100 ms: 30 seconds, with usage only at the very end.
  let upstreamClosed = false
  const streams = new Set<ServerResponse>()
  const upstream = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      streams.add(res)
      let n = 0
      const chunk = (content: string) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'u', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`
      const timer = setInterval(() => {
        if (++n > 300) {
          clearInterval(timer)
          res.end(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'u', choices: [], usage: { prompt_tokens: 7, completion_tokens: 300, total_tokens: 307 } })}\n\ndata: [DONE]\n\n`)
          return
        }
        res.write(chunk(`word${n} `))
      }, 100)
      res.on('close', () => {
        clearInterval(timer)
        upstreamClosed = true
      })
    })
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => {
    for (const s of streams) s.destroy()
    upstream.close(() => r())
  }))
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`

  const databaseUrl = tempSqliteUrl(t)
  const gw = await startGatewayProcess(t, {
    databaseUrl,
    env: { SHUTDOWN_GRACE_MS: '1000' },
    gateway: {
      providers: [{ name: 'up', type: 'openai', baseUrl: `${upstreamUrl}/v1`, apiKey: 'k' }],
      models: [{ name: 'long', deployments: [{ provider: 'up', model: 'gpt-4o-mini', pricing: { input: 1, output: 2 } }] }],
    },
  })

  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: masterAuth,
    body: JSON.stringify({ model: 'long', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Count to three hundred.' }] }),
  })
  t.equal(res.statusCode, 200)
  let text = ''
  const reading = (async () => {
    for await (const c of res.body) text += String(c)
  })()
  // A few deltas in, the operator stops the gateway.
  while (!text.includes('word3 ')) await new Promise((r) => setTimeout(r, 20))
  const exitCode = await gw.stop('SIGTERM')
  await reading.catch(() => undefined)

  t.equal(exitCode, 0, 'a clean exit, not the forced one')
  t.ok(upstreamClosed, 'the upstream request was aborted')
  const events = sseData(text)
  const last = events[events.length - 1] as { error?: { code: string; type: string } }
  t.equal(last.error?.code, 'gateway_shutting_down', 'the client was told why its stream ended')
  const relayed = events.filter((e) => typeof e === 'object' && Array.isArray((e as { choices?: unknown[] }).choices) && (e as { choices: unknown[] }).choices.length > 0).length
  t.ok(relayed >= 3 && relayed < 300, `${relayed} deltas relayed before the end`)
  const usage = events[events.length - 2] as { usage?: { completion_tokens: number }; switchyard?: { usage_source: string; cost_usd: number } }
  t.equal(usage.switchyard?.usage_source, 'estimate', 'the client asked for usage and got the estimate')

  const { db } = await createDb(databaseUrl)
  t.teardown(() => db.$disconnect())
  const rows = await db.usageRecord.findMany()
  t.equal(rows.length, 1, 'the stream has its record')
  const row = rows[0]!
  t.equal(row.usageSource, 'estimate')
  t.equal(row.status, 503)
  t.equal(row.error, 'gateway_shutting_down')
  t.ok(row.completionTokens > 0, `${row.completionTokens} completion tokens charged`)
  t.equal(row.completionTokens, usage.usage?.completion_tokens, 'the figure the client was given')
  t.ok(row.promptTokens > 0)
  t.ok(row.costUsd > 0)
  t.equal(row.costUsd, usage.switchyard?.cost_usd)
  t.match(gw.output(), /shutdown grace over: ending the streams still open/)
})
