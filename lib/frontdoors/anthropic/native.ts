// The Messages request as a native job (lib/proxy/types.ts NativeJob): sent as
// is to Anthropic deployments, its answer relayed as sent; usage for cost and
// records read from the native answer (usage.ts).
import type { NativeEventView, NativeJob, NativeStreamWatcher } from '../../proxy/types.js'
import type { ProviderEntry } from '../../routing/table.js'
import { anthropicNative } from '../../providers/anthropic/index.js'
import { anthropicErrorInfo } from '../../providers/anthropic/errors.js'
import { fromErrorInfo, type GatewayError } from '../../errors.js'
import type { SseEvent } from '../../sse.js'
import { isObject, namedEvent } from '../shared.js'
import { anthropicError } from './errors.js'
import { anthropicMessageUsage, AnthropicSseUsage } from './usage.js'

export interface AnthropicNativeOptions {
  /** The client's body as sent, and parsed. */
  raw: string
  parsed: Record<string, unknown>
  /** The client's anthropic-beta header, forwarded on native attempts. */
  beta?: string
  /** Set when the request could not be translated for other backends. */
  untranslatable?: GatewayError
}

/** The text of content blocks (text, thinking, tool input), for an estimate when an answer has no usage. */
function blocksText(content: unknown): string {
  if (!Array.isArray(content)) return ''
  let out = ''
  for (const b of content) {
    if (!isObject(b)) continue
    if (typeof b.text === 'string') out += b.text
    if (typeof b.thinking === 'string') out += b.thinking
    if (b.type === 'tool_use' && b.input !== undefined) out += (typeof b.name === 'string' ? b.name : '') + JSON.stringify(b.input)
  }
  return out
}

/** A stream's in-band `error` event as a gateway error (scrubbed). */
function streamError(data: unknown, secrets: Array<string | undefined>): GatewayError {
  const e = isObject(data) && isObject(data.error) ? data.error : {}
  const type = typeof e.type === 'string' ? e.type : 'api_error'
  const message = typeof e.message === 'string' ? e.message : 'upstream stream error'
  return fromErrorInfo(anthropicErrorInfo(type, message), secrets)
}

export class AnthropicNativeWatcher implements NativeStreamWatcher {
  private readonly tracker = new AnthropicSseUsage()
  private ended = false

  constructor(private readonly secrets: Array<string | undefined> = []) {}

  observe(event: SseEvent): NativeEventView | undefined {
    const name = event.event
    if (name === 'message_start' || name === 'message_delta') {
      this.tracker.observe(event)
      return undefined
    }
    if (name === 'message_stop') {
      this.ended = true
      return undefined
    }
    if (name === 'content_block_delta') {
      let data: unknown
      try {
        data = JSON.parse(event.data)
      } catch {
        return undefined
      }
      const delta = isObject(data) && isObject(data.delta) ? data.delta : undefined
      const text = delta?.text ?? delta?.partial_json ?? delta?.thinking
      return typeof text === 'string' ? { text } : undefined
    }
    if (name === 'error' || (name === undefined && event.data.startsWith('{"type":"error"'))) {
      let data: unknown
      try {
        data = JSON.parse(event.data)
      } catch {
        data = undefined
      }
      return { error: streamError(data, this.secrets) }
    }
    return undefined
  }

  get usage() {
    return this.tracker.usage
  }

  get complete(): boolean {
    return this.ended
  }

  errorEvent(err: GatewayError): string {
    return namedEvent('error', anthropicError(err).body)
  }
}

export function anthropicNativeJob(opts: AnthropicNativeOptions): NativeJob {
  return {
    accepts: (provider: ProviderEntry) => provider.settings.type === 'anthropic',
    endpoint: (settings) => anthropicNative.messages(settings),
    raw: opts.raw,
    parsed: opts.parsed,
    headers: opts.beta ? { 'anthropic-beta': opts.beta } : undefined,
    usage: anthropicMessageUsage,
    text: (json) => blocksText(isObject(json) ? json.content : undefined),
    watch: () => new AnthropicNativeWatcher(),
    untranslatable: opts.untranslatable,
  }
}
