// A real HTTP server that speaks Anthropic's Messages wire format, so the
// gateway can be exercised end to end (network, SSE framing, socket errors)
// without the real API.
//
//   const upstream = await startMockAnthropic({ apiKey: 'k' })
//   provider.baseUrl = upstream.url            // http://127.0.0.1:<port>
//   ...
//   upstream.requests[0].body.messages          // what the gateway sent
//   upstream.requests[0].headers['x-api-key']
//   await upstream.close()
//
// Every request is recorded (before any check). Then:
//   1. method/path other than POST /v1/messages(/count_tokens) -> 404 not_found_error
//      (count_tokens answers {input_tokens: 1000 + the default message's input estimate})
//   2. wrong x-api-key or anthropic-version    -> 401 authentication_error
//   3. the script, if one is set and returns a reply
//   4. the default behaviour (see defaultMessage): an echo of the last user
//      text, or a tool_use call when tools are offered; as JSON, or as an SSE
//      event stream when the request says stream:true.
//
// Scripting: `script(fn)` installs fn(request, n) (n = 0-based index of the
// request since the server started); it returns a MockReply, or undefined for
// the default behaviour. `script(null)` removes it. Replies:
//   { kind: 'error', status, type, message, headers? }  Anthropic error body
//   { kind: 'raw', status, body, headers? }              any body (e.g. HTML)
//   { kind: 'message', message }                         this message (fields
//        merged over the default one), as JSON or streamed per the request
//   { kind: 'events', events, delayMs? }                 exactly these SSE events
//   { kind: 'cut', message? }                            the (default or given)
//        answer, but only its first half is sent, then the socket is destroyed
//   { kind: 'default' }
//
// Example: fail the first call with an overload, then behave normally:
//   upstream.script((_req, n) => (n === 0 ? { kind: 'error', status: 529, type: 'overloaded_error', message: 'Overloaded' } : undefined))
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface MockRequestBody {
  model?: string
  max_tokens?: number
  system?: unknown
  messages?: Array<{ role: string; content: unknown }>
  stream?: boolean
  stop_sequences?: string[]
  tools?: Array<{ name: string; description?: string; input_schema?: { properties?: Record<string, { type?: string }> } }>
  tool_choice?: { type: string; name?: string }
  [k: string]: unknown
}

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  /** Parsed JSON body; the raw text when it was not JSON. */
  body: MockRequestBody
  rawBody: string
}

export interface MockMessage {
  id: string
  type: 'message'
  role: 'assistant'
  model: string
  content: Array<Record<string, unknown> & { type: string }>
  stop_reason: string | null
  stop_sequence: string | null
  usage: { input_tokens: number; output_tokens: number; cache_creation_input_tokens?: number; cache_read_input_tokens?: number }
}

export interface MockEvent {
  event: string
  data: unknown
}

export type MockReply =
  | { kind: 'error'; status: number; type: string; message: string; headers?: Record<string, string> }
  | { kind: 'raw'; status: number; body: string; headers?: Record<string, string> }
  | { kind: 'message'; message: Partial<MockMessage> }
  | { kind: 'events'; events: MockEvent[]; delayMs?: number }
  | { kind: 'cut'; message?: Partial<MockMessage> }
  | { kind: 'default' }

export type MockScript = (request: RecordedRequest, n: number) => MockReply | undefined

export interface MockAnthropicOptions {
  /** Expected x-api-key (default 'test-anthropic-key'). */
  apiKey?: string
  /** Expected anthropic-version (default '2023-06-01'). */
  version?: string
}

export interface MockAnthropic {
  /** Base URL without /v1, e.g. http://127.0.0.1:40123 */
  url: string
  requests: RecordedRequest[]
  script(fn: MockScript | null): void
  close(): Promise<void>
}

function blockText(block: unknown): string {
  if (typeof block === 'string') return block
  const b = block as { type?: string; text?: unknown; content?: unknown }
  if (b?.type === 'text' && typeof b.text === 'string') return b.text
  if (b?.type === 'tool_result') return Array.isArray(b.content) ? b.content.map(blockText).join(' ') : blockText(b.content ?? '')
  return ''
}

function messageText(content: unknown): string {
  return Array.isArray(content) ? content.map(blockText).filter(Boolean).join(' ') : blockText(content)
}

function sampleValue(type: string | undefined): unknown {
  if (type === 'number' || type === 'integer') return 42
  if (type === 'boolean') return true
  if (type === 'array') return []
  if (type === 'object') return {}
  return 'Paris'
}

/**
 * The default answer to a request: a tool_use of the first tool when tools
 * are offered and the last turn is the user's own words (not tool results),
 * otherwise "echo: <last user text>", honouring max_tokens (in words) and
 * stop_sequences.
 */
export function defaultMessage(body: MockRequestBody, n: number): MockMessage {
  const messages = Array.isArray(body.messages) ? body.messages : []
  const last = messages[messages.length - 1]
  const lastHasToolResult = Array.isArray(last?.content) && last.content.some((b) => (b as { type?: string })?.type === 'tool_result')
  const inputTokens = Math.max(1, Math.ceil(JSON.stringify([body.system ?? '', messages]).length / 4))
  const base = { id: `msg_mock_${n + 1}`, type: 'message' as const, role: 'assistant' as const, model: body.model ?? 'claude-mock' }

  const tool = body.tools?.[0]
  if (tool && last?.role === 'user' && !lastHasToolResult && body.tool_choice?.type !== 'none') {
    const [key, schema] = Object.entries(tool.input_schema?.properties ?? {})[0] ?? []
    const input = key ? { [key]: sampleValue(schema?.type) } : {}
    return {
      ...base,
      content: [{ type: 'tool_use', id: `toolu_mock_${n + 1}`, name: tool.name, input }],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: 12 },
    }
  }

  const userText = [...messages].reverse().find((m) => m.role === 'user')
  let text = `echo: ${userText ? messageText(userText.content) : ''}`
  let stopReason = 'end_turn'
  let stopSequence: string | null = null
  for (const seq of body.stop_sequences ?? []) {
    const at = text.indexOf(seq)
    if (seq !== '' && at !== -1) {
      text = text.slice(0, at)
      stopReason = 'stop_sequence'
      stopSequence = seq
      break
    }
  }
  let words = text.split(/(?<= )/)
  if (typeof body.max_tokens === 'number' && words.length > body.max_tokens) {
    words = words.slice(0, body.max_tokens)
    text = words.join('')
    stopReason = 'max_tokens'
    stopSequence = null
  }
  return {
    ...base,
    content: [{ type: 'text', text }],
    stop_reason: stopReason,
    stop_sequence: stopSequence,
    usage: { input_tokens: inputTokens, output_tokens: words.length },
  }
}

/** Splits s into `parts` non-empty pieces of nearly equal length. */
function pieces(s: string, parts: number): string[] {
  const size = Math.max(1, Math.ceil(s.length / parts))
  const out: string[] = []
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size))
  return out
}

/** The SSE event sequence Anthropic sends for a message. */
export function messageEvents(message: MockMessage): MockEvent[] {
  const { content, stop_reason, stop_sequence, usage, ...head } = message
  const events: MockEvent[] = [
    {
      event: 'message_start',
      data: { type: 'message_start', message: { ...head, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } },
    },
    { event: 'ping', data: { type: 'ping' } },
  ]
  content.forEach((block, index) => {
    if (block.type === 'tool_use') {
      events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { ...block, input: {} } } })
      for (const partial_json of pieces(JSON.stringify(block.input ?? {}), 3)) {
        events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } } })
      }
    } else {
      events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } } })
      for (const text of String(block.text ?? '').split(/(?<= )/)) {
        if (text) events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text } } })
      }
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } })
  })
  events.push(
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason, stop_sequence }, usage: { output_tokens: usage.output_tokens } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  )
  return events
}

const sse = (e: MockEvent) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`

function sendError(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_mock' }))
}

// Resolves once the bytes reached the socket, so a destroy() that follows
// does not discard them.
const flushWrite = (res: ServerResponse, text: string) => new Promise<void>((resolve) => res.write(text, () => resolve()))

async function sendEvents(res: ServerResponse, events: MockEvent[], delayMs = 0, cutAfter = Infinity): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
  for (let i = 0; i < events.length; i++) {
    if (res.destroyed) return
    if (i === cutAfter) {
      res.socket?.destroy()
      return
    }
    await flushWrite(res, sse(events[i]!))
    if (delayMs > 0) await sleep(delayMs)
  }
  res.end()
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function startMockAnthropic(opts: MockAnthropicOptions = {}): Promise<MockAnthropic> {
  const apiKey = opts.apiKey ?? 'test-anthropic-key'
  const version = opts.version ?? '2023-06-01'
  const requests: RecordedRequest[] = []
  let scriptFn: MockScript | null = null

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req)
    let body: MockRequestBody
    let parsedOk = true
    try {
      body = JSON.parse(rawBody) as MockRequestBody
    } catch {
      body = rawBody as unknown as MockRequestBody
      parsedOk = false
    }
    const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, rawBody }
    const n = requests.push(recorded) - 1

    const countTokens = req.method === 'POST' && req.url === '/v1/messages/count_tokens'
    if (!countTokens && (req.method !== 'POST' || req.url !== '/v1/messages')) return sendError(res, 404, 'not_found_error', 'Not found')
    if (req.headers['x-api-key'] !== apiKey) return sendError(res, 401, 'authentication_error', 'invalid x-api-key')
    if (req.headers['anthropic-version'] !== version) {
      return sendError(res, 401, 'authentication_error', 'missing or unsupported anthropic-version header')
    }
    if (!parsedOk || typeof body !== 'object' || body === null) {
      return sendError(res, 400, 'invalid_request_error', 'request body is not valid JSON')
    }

    if (countTokens) {
      // Anthropic's count: here 1000 + the default message's input estimate, so a test can tell it from the gateway's own count.
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ input_tokens: 1000 + defaultMessage({ ...body, tools: undefined }, n).usage.input_tokens }))
      return
    }
    const reply = scriptFn?.(recorded, n) ?? { kind: 'default' }
    const stream = body.stream === true
    switch (reply.kind) {
      case 'error':
        return sendError(res, reply.status, reply.type, reply.message, reply.headers)
      case 'raw':
        res.writeHead(reply.status, reply.headers ?? {})
        res.end(reply.body)
        return
      case 'events':
        return sendEvents(res, reply.events, reply.delayMs)
      case 'message':
      case 'cut':
      case 'default': {
        const message = { ...defaultMessage(body, n), ...(reply.kind === 'default' ? {} : reply.message) } as MockMessage
        const cut = reply.kind === 'cut'
        if (stream) {
          const events = messageEvents(message)
          return sendEvents(res, events, 0, cut ? Math.ceil(events.length / 2) : Infinity)
        }
        const json = JSON.stringify(message)
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)) })
        if (cut) {
          await flushWrite(res, json.slice(0, Math.floor(json.length / 2)))
          res.socket?.destroy()
          return
        }
        res.end(json)
        return
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'api_error', `mock failure: ${String(err)}`)
      else res.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script(fn) {
      scriptFn = fn
    },
    close() {
      server.closeAllConnections()
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())))
    },
  }
}
