// A real OpenAI-compatible HTTP server on loopback, used by the tests and by
// the benchmark (bench/mock-upstream.ts runs it as a process). It answers
// /v1/chat/completions (plain and streamed) and /v1/embeddings in OpenAI's
// wire format, records what it received, and can be scripted to fail in the
// ways real providers do.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { floatsToBase64 } from '../../lib/openai/embeddings.js'

export interface ReceivedRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  /** The body exactly as received. */
  raw: string
  body: Record<string, unknown> | undefined
}

/**
 * What to do with one request. Return undefined to use the default answer.
 * - { status, body, headers }: answer with that status and JSON/text body
 * - { hang: true }: never answer (the client must time out)
 * - { cutAfterChunks: n }: stream n content chunks, then destroy the socket
 * - { raw: 'text', contentType }: answer 200 with this exact body
 * - { delayMs }: wait before answering normally
 */
export type ScriptStep =
  | { status: number; body: unknown; headers?: Record<string, string> }
  | { hang: true }
  | { cutAfterChunks: number }
  | { raw: string; contentType?: string; status?: number }
  | { delayMs: number }
  | undefined

export interface MockOpenAIOptions {
  port?: number
  /** Content chunks in a streamed answer (default 8). */
  streamChunks?: number
  /** Required bearer key; when set, other keys get a 401. */
  apiKey?: string
  /** Azure mode: paths /openai/deployments/{d}/..., key in `api-key`. */
  azure?: boolean
  /** Cached / reasoning token counts to report in usage. */
  usageDetails?: { cachedTokens?: number; reasoningTokens?: number }
  /**
   * Fraction (0..1) of chat requests answered 500 with an OpenAI error body,
   * when no scripted step or behaviour applies. Default 0 (never). Without
   * `failSeed` the pattern is deterministic and evenly spread: the n-th chat
   * request (1-based) fails when floor(n * rate) > floor((n - 1) * rate), so
   * 0.1 fails requests 10, 20, 30, ... and 0.05 fails 20, 40, ...
   */
  failRate?: number
  /** Seed for a seeded pseudo-random pattern instead (mulberry32): each chat request fails with probability failRate. */
  failSeed?: number
  /** Fixed delay before answering every request (ms). Default 0. */
  delayMs?: number
}

/** The 500 an upstream answers when it fails, in OpenAI's error shape. */
export const INJECTED_FAILURE_BODY = {
  error: { message: 'The server had an error while processing your request. (mock upstream: injected failure)', type: 'server_error', param: null, code: null },
}

/** mulberry32: a small seeded PRNG returning [0, 1). Also drives the soak's request mix. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Decides, chat request by chat request, whether to inject a failure. */
function failureInjector(rate: number | undefined, seed: number | undefined): (() => boolean) | undefined {
  if (!rate || !(rate > 0)) return undefined
  const r = Math.min(1, rate)
  if (seed !== undefined) {
    const random = seededRandom(seed)
    return () => random() < r
  }
  let n = 0
  return () => {
    n++
    return Math.floor(n * r) > Math.floor((n - 1) * r)
  }
}

export interface MockOpenAI {
  url: string
  requests: ReceivedRequest[]
  /** Queue one scripted step per upcoming request (FIFO). */
  script(...steps: ScriptStep[]): void
  /** Set a function deciding every request's step (after the queue is empty). */
  behaviour(fn: ((req: ReceivedRequest) => ScriptStep) | undefined): void
  close(): Promise<void>
  server: Server
}

function lastUserText(body: Record<string, unknown> | undefined): string {
  const messages = (body?.messages as Array<{ role: string; content: unknown }> | undefined) ?? []
  const last = [...messages].reverse().find((m) => m.role === 'user')
  return typeof last?.content === 'string' ? last.content : ''
}

/**
 * The usage the mock reports: the same for a request streamed or not, so
 * cost accounting can be compared across both. `details` adds cached and
 * reasoning token counts, as OpenAI reports them.
 */
export function mockUsage(body: Record<string, unknown> | undefined, details?: MockOpenAIOptions['usageDetails']) {
  const prompt = Math.ceil(JSON.stringify(body?.messages ?? '').length / 4)
  const completion = 5
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(details?.cachedTokens !== undefined ? { prompt_tokens_details: { cached_tokens: details.cachedTokens } } : {}),
    ...(details?.reasoningTokens !== undefined ? { completion_tokens_details: { reasoning_tokens: details.reasoningTokens } } : {}),
  }
}

export function completionFor(body: Record<string, unknown> | undefined, id: string, details?: MockOpenAIOptions['usageDetails']) {
  const text = `echo: ${lastUserText(body)}`
  const tools = body?.tools as Array<{ function: { name: string } }> | undefined
  const toolCall = tools?.length && body?.tool_choice !== 'none'
  return {
    id,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: String(body?.model ?? 'unknown'),
    system_fingerprint: 'fp_mock',
    choices: [
      {
        index: 0,
        message: toolCall
          ? {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: `call_${id}`, type: 'function', function: { name: tools![0]!.function.name, arguments: '{"city":"Paris"}' } }],
            }
          : { role: 'assistant', content: text },
        finish_reason: toolCall ? 'tool_calls' : 'stop',
        logprobs: null,
      },
    ],
    usage: mockUsage(body, details),
  }
}

function streamChunks(body: Record<string, unknown> | undefined, id: string, n: number, details?: MockOpenAIOptions['usageDetails']): string[] {
  const base = { id, object: 'chat.completion.chunk', created: 1_700_000_000, model: String(body?.model ?? 'unknown') }
  const out = [JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })]
  const tools = body?.tools as Array<{ function: { name: string } }> | undefined
  if (tools?.length && body?.tool_choice !== 'none') {
    out.push(JSON.stringify({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: `call_${id}`, type: 'function', function: { name: tools[0]!.function.name, arguments: '' } }] }, finish_reason: null }] }))
    for (const part of ['{"city"', ':"Paris"}']) {
      out.push(JSON.stringify({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: part } }] }, finish_reason: null }] }))
    }
    out.push(JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }))
  } else {
    for (let i = 0; i < n; i++) {
      out.push(JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: i === 0 ? 'echo:' : ` t${i}` }, finish_reason: null }] }))
    }
    out.push(JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }))
  }
  const options = body?.stream_options as { include_usage?: boolean } | undefined
  if (options?.include_usage) {
    out.push(JSON.stringify({ ...base, choices: [], usage: mockUsage(body, details) }))
  }
  return out
}

export async function startMockOpenAI(opts: MockOpenAIOptions = {}): Promise<MockOpenAI> {
  const requests: ReceivedRequest[] = []
  const queue: ScriptStep[] = []
  let behaviour: ((req: ReceivedRequest) => ScriptStep) | undefined
  let seq = 0
  const chunksPerStream = opts.streamChunks ?? 8
  // Tests may record; the benchmark must not grow memory.
  const record = !process.env.MOCK_NO_RECORD
  const injectFailure = failureInjector(opts.failRate, opts.failSeed)
  const fixedDelayMs = opts.delayMs && opts.delayMs > 0 ? opts.delayMs : 0

  const handle = async (req: IncomingMessage, res: ServerResponse, raw: string) => {
    let body: Record<string, unknown> | undefined
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined
    } catch {
      body = undefined
    }
    const received: ReceivedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, raw, body }
    if (record) requests.push(received)

    if (opts.apiKey) {
      const given = opts.azure ? req.headers['api-key'] : req.headers.authorization?.replace(/^Bearer /, '')
      if (given !== opts.apiKey) {
        res.writeHead(401, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }))
        return
      }
    }

    const step = queue.length ? queue.shift() : behaviour?.(received)
    if (fixedDelayMs) await new Promise((r) => setTimeout(r, fixedDelayMs))
    if (!step && injectFailure && (req.url ?? '').split('?')[0]!.endsWith('/chat/completions') && injectFailure()) {
      res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify(INJECTED_FAILURE_BODY))
      return
    }
    if (step && 'delayMs' in step) await new Promise((r) => setTimeout(r, step.delayMs))
    if (step && 'hang' in step) return
    if (step && 'status' in step && 'body' in step) {
      res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers })
      res.end(typeof step.body === 'string' ? step.body : JSON.stringify(step.body))
      return
    }
    if (step && 'raw' in step) {
      res.writeHead(step.status ?? 200, { 'content-type': step.contentType ?? 'application/json' })
      res.end(step.raw)
      return
    }

    const path = (req.url ?? '').split('?')[0]!
    const id = `chatcmpl-mock${++seq}`
    if (path.endsWith('/embeddings')) {
      const input = body?.input
      const inputs = Array.isArray(input) ? input : [input]
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          object: 'list',
          data: inputs.map((_, index) => {
            const vector = [0.1 * (index + 1), 0.2, 0.3]
            return { object: 'embedding', index, embedding: body?.encoding_format === 'base64' ? floatsToBase64(vector) : vector }
          }),
          model: String(body?.model ?? 'unknown'),
          usage: { prompt_tokens: inputs.length * 2, total_tokens: inputs.length * 2 },
        }),
      )
      return
    }
    if (path.endsWith('/completions') && !path.endsWith('/chat/completions')) {
      // Legacy completions: "echo: <prompt>", streamed in words when asked.
      const prompt = typeof body?.prompt === 'string' ? body.prompt : JSON.stringify(body?.prompt ?? '')
      const text = `echo: ${prompt}`
      const usage = { prompt_tokens: Math.ceil(prompt.length / 4), completion_tokens: 5, total_tokens: Math.ceil(prompt.length / 4) + 5 }
      const base = { id: `cmpl-mock${seq}`, object: 'text_completion', created: 1_700_000_000, model: String(body?.model ?? 'unknown') }
      if (body?.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        const words = text.split(/(?<= )/)
        words.forEach((w, i) => res.write(`data: ${JSON.stringify({ ...base, choices: [{ text: w, index: 0, logprobs: null, finish_reason: i === words.length - 1 ? 'stop' : null }] })}\n\n`))
        if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) res.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`)
        res.end('data: [DONE]\n\n')
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ...base, choices: [{ text, index: 0, logprobs: null, finish_reason: 'stop' }], usage }))
      return
    }
    if (!path.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: `no route ${path}`, type: 'invalid_request_error', param: null, code: null } }))
      return
    }
    if (body?.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      const chunks = streamChunks(body, id, chunksPerStream, opts.usageDetails)
      const cut = step && 'cutAfterChunks' in step ? step.cutAfterChunks : undefined
      for (let i = 0; i < chunks.length; i++) {
        if (cut !== undefined && i > cut) {
          // Let the first chunks reach the gateway before the reset.
          await new Promise((r) => setTimeout(r, 30))
          res.socket?.destroy()
          return
        }
        res.write(`data: ${chunks[i]}\n\n`)
      }
      res.end('data: [DONE]\n\n')
      return
    }
    const payload = JSON.stringify(completionFor(body, id, opts.usageDetails))
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) })
    res.end(payload)
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks).toString('utf8'))
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    script: (...steps) => queue.push(...steps),
    behaviour: (fn) => {
      behaviour = fn
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
