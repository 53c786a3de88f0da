// The pipeline's streamed canonical answer (chat.completion.chunk SSE as the
// gateway relays it: chunks, the usage chunk, then `data: [DONE]` or one
// error event) -> a front door's stream, through its translator (Anthropic
// Messages, legacy completions). A stream that ends without [DONE] and
// without an error event is closed with an error event: the client always
// learns that its answer is incomplete.
import type { ChatCompletionChunk } from '../openai/types.js'
import { errors } from '../errors.js'
import { SseParser } from '../sse.js'
import { isObject, type GatewayErrorLike } from './shared.js'
import { pumpedBody, send, type RelayBody, type RelayedSource } from '../proxy/relay-body.js'

/** What both the Messages and the completions stream translators offer. */
export interface ChunkTranslator {
  push(chunk: ChatCompletionChunk): string
  finish(): string
  error(err: GatewayErrorLike): string
}

function statusOf(type: string, code: string | null): number {
  if (code === 'all_deployments_cooling_down' || code === 'overloaded' || code === 'overloaded_error') return 503
  if (type === 'timeout_error') return 504
  if (type === 'rate_limit_error') return 429
  if (type === 'invalid_request_error') return 400
  return 502
}

/** The gateway's in-band error event (`data: {"error": {...}}`), with a status derived from its type. */
export function inBandChatError(value: Record<string, unknown>): GatewayErrorLike | undefined {
  if (!isObject(value.error) || Array.isArray(value.choices)) return undefined
  const e = value.error
  const type = typeof e.type === 'string' ? e.type : 'upstream_error'
  const code = typeof e.code === 'string' ? e.code : null
  return { status: statusOf(type, code), type, code, message: typeof e.message === 'string' ? e.message : 'The upstream stream failed.' }
}

/** The front door's stream: the relayed chat stream through `translator`. */
export function translateChatStream(source: RelayedSource, translator: ChunkTranslator): RelayBody {
  return pumpedBody(source, (body) => pumpChatStream(source, translator, body))
}

async function pumpChatStream(source: RelayedSource, translator: ChunkTranslator, body: RelayBody): Promise<void> {
  const parser = new SseParser()
  let done = false
  let failed = false

  const handle = (events: ReturnType<SseParser['push']>): string => {
    let out = ''
    for (const event of events) {
      if (done || failed) break
      if (event.data === '[DONE]') {
        done = true
        out += translator.finish()
        break
      }
      let value: unknown
      try {
        value = JSON.parse(event.data)
      } catch {
        continue
      }
      if (!isObject(value)) continue
      const failure = inBandChatError(value)
      if (failure) {
        failed = true
        out += translator.error(failure)
        break
      }
      try {
        out += translator.push(value as unknown as ChatCompletionChunk)
      } catch (err) {
        failed = true
        out += translator.error(err instanceof Error && 'statusCode' in err ? (err as unknown as GatewayErrorLike) : errors.upstreamBadResponse(String((err as Error)?.message ?? err)))
      }
    }
    return out
  }

  if (typeof source === 'string' || Buffer.isBuffer(source)) {
    await send(body, handle(parser.push(source)) + handle(parser.end()))
  } else {
    const iterator = source[Symbol.asyncIterator]()
    try {
      for (;;) {
        const next = await iterator.next()
        if (next.done) break
        await send(body, handle(parser.push(next.value)))
        if (done || failed) break
      }
      if (!done && !failed) await send(body, handle(parser.end()))
    } finally {
      // Ends the engine's relay (and so records the outcome) when the client went away.
      if (!done && !failed) (source as { destroy?: () => void }).destroy?.()
      else void iterator.return?.()
    }
  }
  if (!done && !failed) await send(body, translator.error(errors.upstreamStreamInterrupted('the stream ended before it was complete')))
}
