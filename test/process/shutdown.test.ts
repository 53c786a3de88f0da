// SIGTERM: stop accepting, let the in-flight stream finish, flush records, exit 0.
import { test } from 'tap'
import { request } from 'undici'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createDb } from '../../lib/storage/client.js'
import { tempSqliteUrl } from '../helpers/app.js'
import { masterAuth, startGatewayProcess } from '../helpers/process.js'

test('graceful shutdown finishes the stream in flight and loses no record', async (t) => {
  // An upstream that streams slowly enough for SIGTERM to land mid-stream.
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  let started!: () => void
  const streamStarted = new Promise<void>((r) => (started = r))
  const upstream = createServer(async (req, res) => {
    req.resume()
    await new Promise((r) => req.on('end', r))
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    const chunk = (content: string) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'u', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`
    res.write(chunk('first '))
    started()
    await released
    res.write(chunk('last'))
    res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'u', choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } })}\n\n`)
    res.end('data: [DONE]\n\n')
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => upstream.close(() => r())))
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`

  const databaseUrl = tempSqliteUrl(t)
  const gw = await startGatewayProcess(t, {
    databaseUrl,
    gateway: {
      providers: [{ name: 'up', type: 'openai', baseUrl: `${upstreamUrl}/v1`, apiKey: 'k' }],
      models: [{ name: 'slow', deployments: [{ provider: 'up', pricing: { input: 1, output: 1 } }] }],
    },
  })

  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: masterAuth,
    body: JSON.stringify({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'x' }] }),
  })
  t.equal(res.statusCode, 200)
  const body = res.body.text()
  await streamStarted
  const exit = gw.stop('SIGTERM')
  // The stream in flight is allowed to complete after the signal.
  setTimeout(release, 200)
  const text = await body
  t.match(text, /first /)
  t.match(text, /last/)
  t.match(text, /data: \[DONE\]/)
  t.equal(await exit, 0, 'clean exit')

  const { db } = await createDb(databaseUrl)
  t.teardown(() => db.$disconnect())
  const rows = await db.usageRecord.findMany()
  t.equal(rows.length, 1, 'the usage record was flushed before exit')
  t.equal(rows[0]!.promptTokens, 7)
  t.equal(rows[0]!.status, 200)
  t.equal(await db.latencySample.count(), 1, 'and the latency sample')
})
