// The Responses request as a native job (lib/proxy/types.ts NativeJob), for
// OpenAI and Azure providers that declare `responsesApi: true`: the body goes
// to their POST …/responses with the model rewritten, and the answer comes
// back as sent. Usage for cost and records is read from the Response (JSON)
// or from the terminal response.completed / response.incomplete event.
//
// The gateway stays the store of record, whichever backend answers: the
// upstream gets `store: false` and no previous_response_id (the gateway
// replays the conversation as input items instead, so a conversation can move
// between native and translated backends), and the Response the client sees
// is patched back to its own `store` and `previous_response_id`.
import type { NativeEventView, NativeJob, NativeStreamWatcher } from '../../proxy/types.js'
import type { ProviderEntry } from '../../routing/table.js'
import { openaiNative } from '../../providers/openai/index.js'
import { azureNative } from '../../providers/azure/index.js'
import { fromErrorInfo, type GatewayError } from '../../errors.js'
import { SseParser, type SseEvent } from '../../sse.js'
import { isObject, namedEvent } from '../shared.js'
import { responsesUsage, ResponsesSseUsage } from './usage.js'
import { pumpedBody, send, type RelayBody, type RelayedSource } from '../../proxy/relay-body.js'
import type { InputItem, ResponsesRequest } from './types.js'

/** Whether a provider takes /v1/responses as sent. */
export function speaksResponses(provider: ProviderEntry): boolean {
  return provider.settings.responsesApi === true && (provider.settings.type === 'openai' || provider.settings.type === 'azure')
}

/**
 * The body a native upstream gets: the client's, with `store: false` and,
 * for a continuation, the replayed history (ids and reasoning items left out:
 * the upstream stored none of them) followed by the new input.
 */
export function nativeBody(req: ResponsesRequest, history: InputItem[] | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = { ...req, store: false }
  if (history !== undefined) {
    delete body.previous_response_id
    const replay = history
      .filter((item) => isObject(item) && item.type !== 'reasoning')
      .map((item) => {
        const { id: _id, ...rest } = item as Record<string, unknown>
        return rest
      })
    const input = typeof req.input === 'string' ? [{ type: 'message', role: 'user', content: req.input }] : Array.isArray(req.input) ? req.input : []
    body.input = [...replay, ...input]
  }
  return body
}

/** The Response the client gets from a native one: its own store and previous_response_id echoed. */
export function patchNativeResponse(response: Record<string, unknown>, req: ResponsesRequest): Record<string, unknown> {
  return { ...response, store: req.store !== false, previous_response_id: typeof req.previous_response_id === 'string' ? req.previous_response_id : null }
}

function outputText(json: unknown): string {
  if (!isObject(json) || !Array.isArray(json.output)) return ''
  let out = ''
  for (const item of json.output) {
    if (!isObject(item)) continue
    if (typeof item.arguments === 'string') out += item.arguments
    if (Array.isArray(item.content)) for (const part of item.content) if (isObject(part) && typeof part.text === 'string') out += part.text
  }
  return out
}

function parse(data: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(data)
    return isObject(value) ? value : undefined
  } catch {
    return undefined
  }
}

/** An in-band failure (an `error` event or response.failed) as a gateway error, scrubbed of the provider's key. */
function streamError(code: unknown, message: unknown, secrets: Array<string | undefined>): GatewayError {
  return fromErrorInfo(
    { status: code === 'rate_limit_exceeded' ? 429 : 502, type: 'upstream_error', code: typeof code === 'string' ? code : 'upstream_error', message: typeof message === 'string' ? message : 'The upstream stream failed.' },
    secrets,
  )
}

const TEXT_DELTAS = new Set(['response.output_text.delta', 'response.function_call_arguments.delta', 'response.reasoning_text.delta', 'response.refusal.delta'])

export class ResponsesNativeWatcher implements NativeStreamWatcher {
  private readonly tracker = new ResponsesSseUsage()
  private lastSequence = -1

  constructor(private readonly secrets: Array<string | undefined> = []) {}

  observe(event: SseEvent): NativeEventView | undefined {
    const name = event.event
    if (name === 'response.completed' || name === 'response.incomplete') {
      this.tracker.observe(event)
      return undefined
    }
    const data = name !== undefined && (TEXT_DELTAS.has(name) || name === 'error' || name === 'response.failed') ? parse(event.data) : undefined
    if (typeof data?.sequence_number === 'number') this.lastSequence = data.sequence_number
    if (name === 'error') return { error: streamError(data?.code, data?.message, this.secrets) }
    if (name === 'response.failed') {
      this.tracker.observe(event)
      const err = isObject(data?.response) && isObject(data.response.error) ? data.response.error : {}
      return { error: streamError(err.code, err.message, this.secrets) }
    }
    if (data && typeof data.delta === 'string') return { text: data.delta }
    return undefined
  }

  get usage() {
    return this.tracker.usage
  }

  get complete(): boolean {
    return this.tracker.status === 'completed' || this.tracker.status === 'incomplete'
  }

  errorEvent(err: GatewayError): string {
    return namedEvent('error', { type: 'error', code: err.code, message: err.message, param: null, sequence_number: this.lastSequence + 1 })
  }
}

export interface ResponsesNativeOptions {
  /** The client's request. */
  request: ResponsesRequest
  /** The replayed conversation, for a previous_response_id. */
  history?: InputItem[]
  /** Set when the request could not be translated for chat-only backends. */
  untranslatable?: GatewayError
}

export function responsesNativeJob(opts: ResponsesNativeOptions): NativeJob {
  const parsed = nativeBody(opts.request, opts.history)
  return {
    accepts: speaksResponses,
    endpoint: (settings) => (settings.type === 'azure' ? azureNative.responses(settings) : openaiNative.responses(settings)),
    raw: JSON.stringify(parsed),
    parsed,
    usage: responsesUsage,
    text: outputText,
    watch: () => new ResponsesNativeWatcher(),
    untranslatable: opts.untranslatable,
  }
}

const RESPONSE_EVENTS = new Set(['response.created', 'response.in_progress', 'response.completed', 'response.incomplete', 'response.failed', 'response.queued'])

/**
 * A native stream as relayed by the engine (re-framed events) -> the client:
 * events carrying the Response get the client's store / previous_response_id
 * back; a completed or incomplete Response is handed to `onComplete` (which
 * stores it) before its event is sent. Other events pass as they came.
 */
export function nativeSseToClient(
  source: RelayedSource,
  req: ResponsesRequest,
  options: { onComplete?(response: Record<string, unknown>): Promise<void> | void; aborted?(): boolean } = {},
): RelayBody {
  return pumpedBody(source, async (body) => {
    const parser = new SseParser()
    // False once the client went away while a Response was being stored: nothing more is sent.
    const handle = async (events: SseEvent[]): Promise<boolean> => {
      for (const event of events) {
        const data = event.event !== undefined && RESPONSE_EVENTS.has(event.event) ? parse(event.data) : undefined
        if (!data || !isObject(data.response)) {
          let out = event.event !== undefined ? `event: ${event.event}\n` : ''
          for (const line of event.data.split('\n')) out += `data: ${line}\n`
          await send(body, `${out}\n`)
          continue
        }
        const response = patchNativeResponse(data.response, req)
        if ((event.event === 'response.completed' || event.event === 'response.incomplete') && !options.aborted?.()) await options.onComplete?.(response)
        if (options.aborted?.()) return false
        await send(body, namedEvent(event.event!, { ...data, response }))
      }
      return true
    }
    const chunks = typeof source === 'string' || Buffer.isBuffer(source) ? [source] : source
    for await (const chunk of chunks) if (!(await handle(parser.push(chunk)))) return
    await handle(parser.end())
  })
}
