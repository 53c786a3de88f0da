// Proxy mode: the Router interface over HTTP, to a Switchyard or any
// OpenAI-compatible gateway. Streams are parsed from Server-Sent Events into
// chunk objects; error answers become SwitchyardError with OpenAI's fields.
import { Agent, request as httpRequest, type Dispatcher } from 'undici'
import { GatewayError } from '../errors.js'
import { SseParser } from '../sse.js'
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, EmbeddingsRequest, EmbeddingsResponse } from '../openai/types.js'
import type { CallOptions, Router } from './types.js'

export interface ProxyRouterOptions {
  /** The gateway's OpenAI base URL, e.g. http://127.0.0.1:8080/v1 (a trailing /v1 is added when missing). */
  baseUrl: string
  apiKey?: string
  /** Headers sent on every call. */
  headers?: Record<string, string>
}

/** The base URL with its /v1 path, without a trailing slash. */
export function v1Base(baseUrl: string): string {
  const trimmed = baseUrl.replace(/\/+$/, '')
  return /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`
}

/** An OpenAI error body (or anything else) as a GatewayError. */
export async function errorFromResponse(status: number, body: Dispatcher.ResponseData['body']): Promise<GatewayError> {
  let text = ''
  try {
    text = await body.text()
  } catch {
    // the status alone
  }
  try {
    const e = (JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown } }).error
    if (e && typeof e === 'object') {
      return new GatewayError({
        status,
        type: typeof e.type === 'string' ? e.type : 'upstream_error',
        code: typeof e.code === 'string' ? e.code : null,
        param: typeof e.param === 'string' ? e.param : null,
        message: typeof e.message === 'string' ? e.message : `the gateway answered ${status}`,
      })
    }
  } catch {
    // not JSON
  }
  return new GatewayError({ status, type: 'upstream_error', code: null, message: `the gateway answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}` })
}

/** Chunk objects from an SSE body, until [DONE]; an error event is thrown as a GatewayError. */
export async function* sseChunks(body: AsyncIterable<Buffer | string>): AsyncGenerator<ChatCompletionChunk> {
  const parser = new SseParser()
  const handle = function* (events: ReturnType<SseParser['push']>): Generator<ChatCompletionChunk | 'done'> {
    for (const ev of events) {
      if (ev.data === '[DONE]') {
        yield 'done'
        return
      }
      const parsed = JSON.parse(ev.data) as ChatCompletionChunk & { error?: { message?: string; type?: string; code?: string | null } }
      if (parsed.error && typeof parsed.error === 'object') {
        throw new GatewayError({ status: 502, type: parsed.error.type ?? 'upstream_error', code: parsed.error.code ?? null, message: parsed.error.message ?? 'stream error' })
      }
      yield parsed
    }
  }
  for await (const piece of body) {
    for (const c of handle(parser.push(piece))) {
      if (c === 'done') return
      yield c
    }
  }
  for (const c of handle(parser.end())) {
    if (c === 'done') return
    yield c
  }
  throw new GatewayError({ status: 502, type: 'upstream_error', code: 'upstream_stream_interrupted', message: 'the stream ended before [DONE]' })
}

export function createProxyRouter(options: ProxyRouterOptions): Router {
  const base = v1Base(options.baseUrl)
  const dispatcher = new Agent({ keepAliveTimeout: 30_000 })
  const headers = (extra?: Record<string, string>): Record<string, string> => ({
    'content-type': 'application/json',
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
    ...options.headers,
    ...extra,
  })

  const post = async (path: string, body: unknown, call: CallOptions | undefined, stream: boolean) => {
    const res = await httpRequest(`${base}${path}`, {
      method: 'POST',
      dispatcher,
      headers: headers({ ...(stream ? { accept: 'text/event-stream' } : {}), ...call?.headers }),
      body: JSON.stringify(body),
      signal: call?.signal,
    })
    if (res.statusCode >= 300) throw await errorFromResponse(res.statusCode, res.body)
    return res
  }

  async function chat(req: ChatCompletionRequest, call?: CallOptions): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const res = await post('/chat/completions', req, call, req.stream === true)
    if (req.stream !== true) return (await res.body.json()) as ChatCompletion
    const chunks = sseChunks(res.body)
    // Breaking out of the loop (or an abort) closes the connection, which cancels the upstream.
    return {
      [Symbol.asyncIterator]() {
        const it = chunks[Symbol.asyncIterator]()
        return {
          next: () => it.next(),
          return: async (value?: unknown) => {
            res.body.destroy()
            return it.return(value as never)
          },
        }
      },
    }
  }

  return {
    chat: chat as Router['chat'],
    async embeddings(req: EmbeddingsRequest, call?: CallOptions) {
      const res = await post('/embeddings', req, call, false)
      return (await res.body.json()) as EmbeddingsResponse
    },
    async close() {
      await dispatcher.close()
    },
  }
}
