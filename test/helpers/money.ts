// Shared by test/money/*: a scriptable OpenAI-compatible upstream (a real
// HTTP server on 127.0.0.1, port 0, speaking the chat-completions wire format)
// and helpers to read what the gateway recorded.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ThreadWriter } from '../../lib/storage/thread-writer.js'

interface Tap {
  teardown(fn: () => unknown): void
}

export interface UpstreamRequest {
  url: string
  raw: string
  body: Record<string, unknown>
}

export type UpstreamHandler = (req: UpstreamRequest, res: ServerResponse) => void | Promise<void>

export interface Upstream {
  url: string
  /** Requests received, in order. */
  received: UpstreamRequest[]
  /** Replaces the handler for the next requests. */
  handle(h: UpstreamHandler): void
  /** Responses whose connection closed so far (answered, or the gateway hung up). */
  closedCount(): number
}

export async function startUpstream(t: Tap, handler: UpstreamHandler): Promise<Upstream> {
  let current = handler
  const received: UpstreamRequest[] = []
  let closed = 0
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (raw += c))
    req.on('end', () => {
      let body: Record<string, unknown> = {}
      try {
        body = JSON.parse(raw) as Record<string, unknown>
      } catch {
        // left empty: the test sees `raw`
      }
      const r = { url: req.url ?? '', raw, body }
      received.push(r)
      res.on('close', () => closed++)
      void Promise.resolve(current(r, res)).catch(() => res.destroy())
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  )
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    handle: (h) => (current = h),
    closedCount: () => closed,
  }
}

export const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-up', object: 'chat.completion.chunk', created: 1, model: 'up-model', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`
export const usageChunk = (usage: unknown) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-up', object: 'chat.completion.chunk', created: 1, model: 'up-model', choices: [], usage })}\n\n`
export const DONE = 'data: [DONE]\n\n'

export function completion(content: string, usage?: unknown) {
  return {
    id: 'chatcmpl-up',
    object: 'chat.completion',
    created: 1,
    model: 'up-model',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    ...(usage !== undefined ? { usage } : {}),
  }
}

export function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

export function openStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits until `check` holds (polling every 10 ms, at most `ms`). */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return true
    await sleep(10)
  }
  return check()
}

/** One model "m" on the upstream, priced per 1M tokens. */
export function pricedGateway(url: string, pricing = { input: 1, output: 2 }, extra: Record<string, unknown> = {}) {
  return {
    providers: [{ name: 'up', type: 'openai', baseUrl: `${url}/v1`, apiKey: 'sk-up' }],
    models: [{ name: 'm', deployments: [{ id: 'dep-up', provider: 'up', model: 'gpt-4o-mini', pricing }] }],
    routing: { strategy: 'model' },
    ...extra,
  }
}

/** Every usage record, after flushing the buffer. */
export async function records(app: FastifyInstance) {
  await app.usage.flush()
  return app.db.usageRecord.findMany({ orderBy: { createdAt: 'asc' } })
}

/**
 * Starts the process's shared writer thread before any app is built: under
 * the test runner its first start compiles the database client (seconds on a
 * loaded machine), which can exceed Fastify's plugin timeout. Call once per file.
 */
export async function warmWriterThread(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-warm-'))
  const writer = new ThreadWriter(`file:${join(dir, 'warm.db')}`)
  try {
    await writer.start()
  } finally {
    await writer.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
