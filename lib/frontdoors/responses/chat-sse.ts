// The pipeline's streamed answer (chat.completion.chunk SSE as the gateway
// relays it: chunks, the usage chunk, then `data: [DONE]` or one error
// event) -> Responses API semantic events, through ResponsesStreamTranslator.
//
// A finished Response (completed or incomplete) is handed to `onComplete`
// (which stores it) before its final event is sent, so a client that reads
// response.completed can retrieve the response at once. A failed stream and
// a client that went away store nothing.
import type { ChatCompletionChunk } from '../../openai/types.js'
import { errors } from '../../errors.js'
import { SseParser } from '../../sse.js'
import { isObject, type GatewayErrorLike } from '../shared.js'
import type { ResponsesStreamTranslator } from './stream.js'
import type { Response } from './types.js'
import { ConsumerGoneError, pumpedBody, send, type RelayBody, type RelayedSource } from '../../proxy/relay-body.js'

export interface ChatSseOptions {
  /** Called with the final Response before response.completed / response.incomplete is sent. */
  onComplete?(response: Response): Promise<void> | void
  /** True once the client went away: nothing more is sent or stored. */
  aborted?(): boolean
}

/** The gateway's in-band error event (`data: {"error": {...}}`) as an error the translator reports. */
function inBandError(value: Record<string, unknown>): GatewayErrorLike | undefined {
  if (!isObject(value.error) || Array.isArray(value.choices)) return undefined
  const e = value.error
  const type = typeof e.type === 'string' ? e.type : 'server_error'
  return {
    status: type === 'rate_limit_error' || e.code === 'rate_limit_exceeded' ? 429 : 500,
    type,
    code: typeof e.code === 'string' ? e.code : null,
    message: typeof e.message === 'string' ? e.message : 'The upstream stream failed.',
  }
}

/** The Responses event stream of a relayed chat stream. */
export function chatSseToResponses(source: RelayedSource, translator: ResponsesStreamTranslator, options: ChatSseOptions = {}): RelayBody {
  return pumpedBody(source, (body) => pumpResponses(source, translator, options, body))
}

async function pumpResponses(source: RelayedSource, translator: ResponsesStreamTranslator, options: ChatSseOptions, body: RelayBody): Promise<void> {
  const parser = new SseParser()
  let done = false
  let failure: GatewayErrorLike | undefined

  const handle = (events: ReturnType<SseParser['push']>): string => {
    let out = ''
    for (const event of events) {
      if (done || failure) break
      if (event.data === '[DONE]') {
        done = true
        break
      }
      let value: unknown
      try {
        value = JSON.parse(event.data)
      } catch {
        continue
      }
      if (!isObject(value)) continue
      failure = inBandError(value)
      if (!failure) out += translator.push(value as unknown as ChatCompletionChunk)
    }
    return out
  }

  try {
    const chunks = typeof source === 'string' || Buffer.isBuffer(source) ? [source] : source
    for await (const chunk of chunks) {
      await send(body, handle(parser.push(chunk)))
      if (done || failure) break
    }
    if (!done && !failure) await send(body, handle(parser.end()))
  } catch (err) {
    if (err instanceof ConsumerGoneError) throw err
    // The translator refused the backend's stream (e.g. a tool call resumed after another item).
    failure = isObject(err) && typeof (err as { message?: unknown }).message === 'string' && 'type' in err ? (err as unknown as GatewayErrorLike) : errors.upstreamBadResponse((err as Error)?.message ?? 'unknown error')
  }
  if (options.aborted?.()) return
  if (!done && !failure) failure = errors.upstreamBadResponse('the stream ended before it was complete')
  if (failure) return send(body, translator.error(failure))
  const final = translator.finish()
  await options.onComplete?.(translator.response)
  if (options.aborted?.()) return
  await send(body, final)
}
