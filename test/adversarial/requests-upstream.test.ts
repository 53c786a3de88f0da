// Adversarial, against the real server (dist/server.js, built with
// `npx tsc -p tsconfig.json`) over real HTTP, default caps: an upstream that
// answers a 50 MB body, or streams a single 10 MB SSE line, gets the client a
// 502 naming the cap instead of the gateway buffering it all. Each case checks
// the answer and that a normal request still works afterwards.
import { test } from 'tap'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import { MASTER_KEY, tempSqliteUrl } from '../helpers/app.js'
import { startGatewayProcess } from '../helpers/process.js'

const MB = 1024 * 1024
const completion = JSON.stringify({
  id: 'c', object: 'chat.completion', created: 1, model: 'up',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
})

/** Writes `total` bytes of `fill` (or until the gateway hangs up). */
function writeBytes(res: ServerResponse, total: number, fill: string): void {
  const chunk = Buffer.alloc(256 * 1024, fill)
  let sent = 0
  const write = () => {
    while (!res.destroyed && sent < total) {
      const piece = chunk.subarray(0, Math.min(chunk.length, total - sent))
      sent += piece.length
      if (!res.write(piece)) return void res.once('drain', write)
    }
    if (!res.destroyed) res.end(fill === 'x' ? '\n\n' : undefined)
  }
  write()
}

test('a 50 MB body and a 10 MB SSE line from an upstream: 502 naming the cap (real process)', async (t) => {
  let mode: 'normal' | 'sized' | 'chunked' | 'line' = 'normal'
  let cutOff = 0
  const up = createServer((req, res) => {
    req.resume()
    req.once('end', () => {
      res.once('close', () => {
        if (!res.writableFinished) cutOff++
      })
      if (mode === 'normal') return void res.writeHead(200, { 'content-type': 'application/json' }).end(completion)
      if (mode === 'line') {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write('data: ')
        return writeBytes(res, 10 * MB, 'x')
      }
      res.writeHead(200, { 'content-type': 'application/json', ...(mode === 'sized' ? { 'content-length': String(50 * MB) } : {}) })
      writeBytes(res, 50 * MB, ' ')
    })
  })
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    up.closeAllConnections()
    return new Promise((r) => up.close(r))
  })
  const gw = await startGatewayProcess(t, {
    databaseUrl: tempSqliteUrl(t),
    gateway: {
      limits: { shedding: { maxEventLoopDelayMs: 0 } },
      providers: [{ name: 'up', type: 'openai', baseUrl: `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`, apiKey: 'sk-upstream' }],
      models: [{ name: 'm', deployments: [{ provider: 'up' }] }],
      routing: { retries: { attempts: 0 }, cooldown: { enabled: false } },
    },
  })
  const agent = new Agent({ keepAliveTimeout: 1_000 })
  t.teardown(() => agent.close())
  const chat = async (stream = false) => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST', dispatcher: agent, headersTimeout: 60_000, bodyTimeout: 60_000,
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hi' }] }),
    })
    const text = await res.body.text()
    return { status: res.statusCode, text }
  }
  const normal = async (what: string) => {
    mode = 'normal'
    const res = await chat()
    t.equal(res.status, 200, `${what}: a normal request is served afterwards`)
  }

  for (const [what, m] of [['50 MB with a content-length', 'sized'], ['50 MB chunked', 'chunked']] as const) {
    mode = m
    const res = await chat()
    t.equal(res.status, 502, what)
    const error = JSON.parse(res.text).error
    t.equal(error.code, 'upstream_response_too_large')
    t.match(error.message, /limit of 33554432 bytes \(UPSTREAM_MAX_BODY_BYTES\)/, 'the message names the cap')
    await normal(what)
  }

  mode = 'line'
  const line = await chat(true)
  t.equal(line.status, 502, 'a single 10 MB SSE line: 502 before the first byte')
  const error = JSON.parse(line.text).error
  t.equal(error.code, 'upstream_response_too_large')
  t.match(error.message, /limit of 4194304 bytes \(UPSTREAM_MAX_EVENT_BYTES\)/)
  await normal('10 MB SSE line')
  t.ok(cutOff >= 2, `the upstream connections were cut off, not drained (${cutOff})`)
})
