// A real HTTP server that speaks the Gemini API (v1beta) wire format, for
// end-to-end tests of the gemini provider without network access.
//
//   const gem = await startMockGemini({ apiKey: 'test-key' })
//   gem.url          // http://127.0.0.1:<port>/v1beta  (use as provider baseUrl)
//   gem.requests     // every request: { method, path, model, method name, headers, body }
//   gem.script(fn)   // the next request is answered by fn (see below)
//   gem.script(fn, n)// the next n requests; n = Infinity for all following ones
//   await gem.close()
//
// A script is `(req: RecordedRequest) => MockReply | undefined`; undefined
// means "default behaviour". Replies:
//   { status, error: { message, status?, details? } }  Gemini error body ({error:{code,message,status}})
//   { status?, body }                                 any JSON body (default status 200)
//   { chunks: [...] }                                 (streaming) these GenerateContentResponse chunks as SSE
//   { cut: true }                                     half of the default answer, then the socket is destroyed
//   { delayMs } or delayMs on any reply               wait before answering
//
// Default behaviour:
//   auth       x-goog-api-key (or ?key=) must equal opts.apiKey: missing -> 403 PERMISSION_DENIED,
//              wrong -> 400 INVALID_ARGUMENT with reason API_KEY_INVALID, as Google answers.
//   generate   "echo: <last user text>" with usageMetadata; when tools are declared, the last turn
//              is a user text turn and functionCallingConfig.mode is not NONE, a functionCall of the
//              first declared function with args from its first property ("Paris" for strings).
//   stream     the same answer split over several `data:` events, finishReason + usage in the last.
//   embed      deterministic vectors of length outputDimensionality ?? 8 derived from the text.
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  /** Path and query, e.g. /v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse */
  path: string
  model: string
  /** generateContent | streamGenerateContent | batchEmbedContents | other */
  action: string
  headers: IncomingMessage['headers']
  body: any
}

export type MockReply =
  | { status: number; error: { message: string; status?: string; details?: unknown[] }; delayMs?: number }
  | { status?: number; body: unknown; delayMs?: number }
  | { chunks: unknown[]; delayMs?: number }
  | { cut: true; delayMs?: number }
  | { delayMs: number }

export type MockScript = (req: RecordedRequest) => MockReply | undefined

export interface MockGeminiOptions {
  /** Key the server accepts; default 'test-gemini-key'. */
  apiKey?: string
}

export interface MockGemini {
  url: string
  requests: RecordedRequest[]
  script(fn: MockScript, times?: number): void
  close(): Promise<void>
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
}

export function geminiErrorBody(code: number, message: string, status = STATUS_NAMES[code] ?? 'UNKNOWN', details?: unknown[]) {
  return { error: { code, message, status, ...(details ? { details } : {}) } }
}

type Part = { text?: string; functionCall?: unknown; functionResponse?: { response?: unknown } }
type Content = { role?: string; parts?: Part[] }

const tokens = (s: string) => Math.max(1, Math.ceil(s.length / 4))

function sampleValue(schema: any): unknown {
  switch (String(schema?.type ?? '').toLowerCase()) {
    case 'string':
      return 'Paris'
    case 'number':
    case 'integer':
      return 1
    case 'boolean':
      return true
    case 'array':
      return []
    case 'object':
      return {}
    default:
      return null
  }
}

/** The default answer to a generateContent body, as one complete response. */
export function defaultAnswer(body: any): { parts: Part[]; usage: Record<string, number> } {
  const contents: Content[] = Array.isArray(body?.contents) ? body.contents : []
  const last = contents[contents.length - 1]
  const lastUser = [...contents].reverse().find((c) => c.role === 'user' && c.parts?.some((p) => typeof p.text === 'string'))
  const promptText = contents.flatMap((c) => c.parts ?? []).map((p) => p.text ?? JSON.stringify(p)).join('\n')
  const decl = body?.tools?.[0]?.functionDeclarations?.[0]
  const mode = body?.toolConfig?.functionCallingConfig?.mode
  const lastIsUserText = last?.role === 'user' && (last.parts ?? []).some((p) => typeof p.text === 'string')
  let parts: Part[]
  if (decl && mode !== 'NONE' && lastIsUserText) {
    const [firstProp, firstSchema] = Object.entries(decl.parameters?.properties ?? {})[0] ?? []
    const args = firstProp ? { [firstProp]: sampleValue(firstSchema) } : {}
    parts = [{ functionCall: { name: decl.name, args } }]
  } else {
    const text = (lastUser?.parts ?? []).filter((p) => typeof p.text === 'string').map((p) => p.text).join(' ')
    parts = [{ text: `echo: ${text}` }]
  }
  const out = parts[0]?.text !== undefined ? tokens(parts[0].text) : 8
  return { parts, usage: { promptTokenCount: tokens(promptText), candidatesTokenCount: out, totalTokenCount: tokens(promptText) + out } }
}

function streamChunks(body: any, model: string): unknown[] {
  const { parts, usage } = defaultAnswer(body)
  const text = parts[0]?.text
  const pieces: Part[][] = text === undefined ? [parts] : splitText(text).map((t) => [{ text: t }])
  return pieces.map((p, i) => {
    const final = i === pieces.length - 1
    return {
      candidates: [{ content: { parts: p, role: 'model' }, index: 0, ...(final ? { finishReason: 'STOP' } : {}) }],
      usageMetadata: final ? usage : { promptTokenCount: usage.promptTokenCount, totalTokenCount: usage.promptTokenCount },
      modelVersion: model,
    }
  })
}

/** Splits text into three roughly equal pieces (fewer for very short text). */
function splitText(text: string): string[] {
  const size = Math.max(1, Math.ceil(text.length / 3))
  const out: string[] = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out.length > 0 ? out : ['']
}

export function mockEmbedding(text: string, dims = 8): number[] {
  const values: number[] = []
  for (let block = 0; values.length < dims; block++) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest()
    for (let i = 0; i < digest.length && values.length < dims; i++) values.push(Math.round((digest[i]! / 255) * 2e4 - 1e4) / 1e4)
  }
  return values
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

// Google terminates SSE events with CRLF pairs.
const sse = (chunk: unknown) => `data: ${JSON.stringify(chunk)}\r\n\r\n`

function parseTarget(url: string): { model: string; action: string } | undefined {
  const m = /^\/v1beta\/models\/([^/:?]+):([A-Za-z]+)(?:\?.*)?$/.exec(url)
  return m ? { model: decodeURIComponent(m[1]!), action: m[2]! } : undefined
}

export async function startMockGemini(opts: MockGeminiOptions = {}): Promise<MockGemini> {
  const apiKey = opts.apiKey ?? 'test-gemini-key'
  const requests: RecordedRequest[] = []
  const scripts: Array<{ fn: MockScript; left: number }> = []

  const nextScript = (): MockScript | undefined => {
    const head = scripts[0]
    if (!head) return undefined
    if (--head.left <= 0) scripts.shift()
    return head.fn
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const url = req.url ?? '/'
    const target = parseTarget(url)
    let body: any
    try {
      body = raw === '' ? undefined : JSON.parse(raw)
    } catch {
      body = raw
    }
    const record: RecordedRequest = { method: req.method ?? 'GET', path: url, model: target?.model ?? '', action: target?.action ?? 'other', headers: req.headers, body }
    requests.push(record)

    const key = req.headers['x-goog-api-key'] ?? new URL(url, 'http://x').searchParams.get('key') ?? undefined
    if (key === undefined) {
      return sendJson(res, 403, geminiErrorBody(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."))
    }
    if (key !== apiKey) {
      return sendJson(res, 400, geminiErrorBody(400, 'API key not valid. Please pass a valid API key.', 'INVALID_ARGUMENT', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
      ]))
    }
    if (req.method !== 'POST' || !target || !['generateContent', 'streamGenerateContent', 'batchEmbedContents'].includes(target.action)) {
      return sendJson(res, 404, geminiErrorBody(404, `Requested entity was not found: ${req.method} ${url.split('?')[0]}`))
    }
    if (typeof body !== 'object' || body === null) {
      return sendJson(res, 400, geminiErrorBody(400, 'Invalid JSON payload received.'))
    }

    const reply = nextScript()?.(record)
    if (reply?.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs))
    const streaming = target.action === 'streamGenerateContent'

    if (reply && 'error' in reply) {
      return sendJson(res, reply.status, geminiErrorBody(reply.status, reply.error.message, reply.error.status, reply.error.details))
    }
    if (reply && 'body' in reply) return sendJson(res, reply.status ?? 200, reply.body)

    if (target.action === 'batchEmbedContents') {
      const list: any[] = Array.isArray(body.requests) ? body.requests : []
      const embeddings = list.map((r) => ({ values: mockEmbedding(String(r?.content?.parts?.[0]?.text ?? ''), r?.outputDimensionality ?? 8) }))
      return sendJson(res, 200, { embeddings })
    }

    if (streaming) {
      const events = reply && 'chunks' in reply ? reply.chunks : streamChunks(body, target.model)
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      if (reply && 'cut' in reply) {
        const text = events.map(sse).join('')
        res.write(text.slice(0, Math.floor(text.length / 2)))
        setTimeout(() => res.destroy(), 20)
        return
      }
      for (const e of events) {
        res.write(sse(e))
        await new Promise((r) => setImmediate(r))
      }
      res.end()
      return
    }

    const { parts, usage } = defaultAnswer(body)
    const answer = {
      candidates: [{ content: { parts, role: 'model' }, finishReason: 'STOP', index: 0 }],
      usageMetadata: usage,
      modelVersion: target.model,
    }
    if (reply && 'cut' in reply) {
      const text = JSON.stringify(answer)
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) })
      res.write(text.slice(0, Math.floor(text.length / 2)))
      setTimeout(() => res.destroy(), 20)
      return
    }
    sendJson(res, 200, answer)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, geminiErrorBody(500, `mock failure: ${String(err)}`))
      else res.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/v1beta`,
    requests,
    script(fn, times = 1) {
      scripts.push({ fn, left: times })
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      })
    },
  }
}
