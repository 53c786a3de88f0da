// Shared by test/chaos/*: a hand-written upstream whose every byte the test
// controls, a resource-leak check, and a recorder of stray process errors.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../app.js'
import { completionFor } from '../mocks/openai.js'
import { tempSqliteUrl, testEnv } from './app.js'

interface Tap {
  teardown(fn: () => unknown): void
}

export interface RawRequest {
  url: string
  headers: IncomingMessage['headers']
  /** The body bytes exactly as received. */
  bytes: Buffer
  body: Record<string, unknown> | undefined
}

export type RawHandler = (req: IncomingMessage, res: ServerResponse, received: RawRequest) => void | Promise<void>

export interface RawUpstream {
  url: string
  requests: RawRequest[]
  /** Replaces how requests are answered; undefined = a normal OpenAI answer. */
  handle(fn: RawHandler | undefined): void
  /** Requests whose response (or socket) has closed. */
  closed: number
  close(): Promise<void>
}

const chunk = (id: string, delta: Record<string, unknown>, finish: string | null = null) =>
  JSON.stringify({ id, object: 'chat.completion.chunk', created: 1_700_000_000, model: 'up', choices: [{ index: 0, delta, finish_reason: finish }] })

/** The SSE events of a normal streamed answer whose text is `parts` joined. */
export function streamEvents(id: string, parts: string[], usage = { prompt_tokens: 3, completion_tokens: parts.length, total_tokens: 3 + parts.length }): string[] {
  return [
    `data: ${chunk(id, { role: 'assistant', content: '' })}\n\n`,
    ...parts.map((p) => `data: ${chunk(id, { content: p })}\n\n`),
    `data: ${chunk(id, {}, 'stop')}\n\n`,
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1_700_000_000, model: 'up', choices: [], usage })}\n\n`,
    'data: [DONE]\n\n',
  ]
}

/** An OpenAI-compatible upstream on 127.0.0.1:0 whose answers the test scripts byte by byte. */
export async function rawUpstream(t: Tap): Promise<RawUpstream> {
  const requests: RawRequest[] = []
  const sockets = new Set<Socket>()
  let handler: RawHandler | undefined
  let seq = 0
  const state = { closed: 0 }
  const normal: RawHandler = (_req, res, received) => {
    const id = `chatcmpl-raw${++seq}`
    if (received.body?.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(streamEvents(id, ['fine']).join(''))
      return
    }
    const payload = JSON.stringify(completionFor(received.body, id))
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) })
    res.end(payload)
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const bytes = Buffer.concat(chunks)
      let body: Record<string, unknown> | undefined
      try {
        body = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>
      } catch {
        body = undefined
      }
      const received = { url: req.url ?? '/', headers: req.headers, bytes, body }
      requests.push(received)
      res.once('close', () => state.closed++)
      Promise.resolve((handler ?? normal)(req, res, received)).catch(() => res.destroy())
    })
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }))
  t.teardown(close)
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    handle: (fn) => {
      handler = fn
    },
    get closed() {
      return state.closed
    },
    close,
  }
}

/**
 * Writes `text` in slices of `size` bytes, `everyMs` apart; stops (false) if
 * the peer goes away. Slices are bytes, so multi-byte characters get split.
 */
export async function dribble(res: ServerResponse, text: string | Buffer, everyMs: number, size = 1): Promise<boolean> {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text
  for (let i = 0; i < bytes.length; i += size) {
    if (res.destroyed || res.writableEnded) return false
    res.write(bytes.subarray(i, i + size))
    await delay(everyMs)
  }
  return !res.destroyed
}

/** A gateway on a fresh SQLite file; `close` is idempotent (the test closes it itself, teardown again in case it failed first). */
export async function chaosApp(t: Tap, gateway: unknown, env: Record<string, string> = {}): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const app = await buildApp({ gateway, env: testEnv(tempSqliteUrl(t), env), logger: false })
  let closed: Promise<void> | undefined
  const close = () => (closed ??= app.close().then(() => undefined))
  t.teardown(close)
  return { app, close }
}

/** Handle types that betray a leak: sockets, servers, timers (refed ones; tap's own are in the baseline). */
export const LEAK_TYPES = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'] as const

export function resourceCounts(): Record<(typeof LEAK_TYPES)[number], number> {
  const counts = { TCPSocketWrap: 0, TCPServerWrap: 0, Timeout: 0 }
  for (const r of process.getActiveResourcesInfo()) if (r in counts) counts[r as keyof typeof counts]++
  return counts
}

/**
 * Waits (at most `limitMs`) for every counted resource type to be back at or
 * below its baseline, and returns the counts seen last. Closed sockets are
 * released on the next turns of the event loop, hence the wait.
 */
export async function settleResources(baseline: ReturnType<typeof resourceCounts>, limitMs = 5_000): Promise<ReturnType<typeof resourceCounts>> {
  const deadline = Date.now() + limitMs
  let now = resourceCounts()
  while (LEAK_TYPES.some((k) => now[k] > baseline[k]) && Date.now() < deadline) {
    await delay(25)
    now = resourceCounts()
  }
  return now
}

/** Records every unhandledRejection / uncaughtException until the file ends. */
export function recordProcessErrors(): { errors: string[]; stop(): void } {
  const errors: string[] = []
  const onRejection = (reason: unknown) => errors.push(`unhandledRejection: ${(reason as Error)?.stack ?? String(reason)}`)
  const onException = (err: Error) => errors.push(`uncaughtException: ${err?.stack ?? String(err)}`)
  process.on('unhandledRejection', onRejection)
  process.on('uncaughtException', onException)
  return {
    errors,
    stop() {
      process.off('unhandledRejection', onRejection)
      process.off('uncaughtException', onException)
    },
  }
}
