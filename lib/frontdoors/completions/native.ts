// The legacy completions request as a native job (lib/proxy/types.ts
// NativeJob): sent as is to OpenAI-compatible and Azure deployments, their
// text_completion answer relayed as sent. Streams ask the upstream for its
// usage chunk (stream_options.include_usage) so cost is known; the chunk is
// left out when the client did not ask for it.
import type { NativeEventView, NativeJob, NativeStreamWatcher } from '../../proxy/types.js'
import type { ProviderEntry } from '../../routing/table.js'
import type { Usage } from '../../openai/types.js'
import { openaiNative } from '../../providers/openai/index.js'
import { azureNative } from '../../providers/azure/index.js'
import type { GatewayError } from '../../errors.js'
import { inBandError } from '../../proxy/failures.js'
import { sanitizeUsage } from '../../proxy/usage.js'
import type { SseEvent } from '../../sse.js'
import { isObject } from '../shared.js'

export interface CompletionsNativeOptions {
  raw: string
  parsed: Record<string, unknown>
  /** The client asked for the usage chunk (stream_options.include_usage). */
  includeUsage: boolean
  untranslatable?: GatewayError
}

function choicesText(json: unknown): string {
  const choices = isObject(json) && Array.isArray(json.choices) ? json.choices : []
  return choices.map((c) => (isObject(c) && typeof c.text === 'string' ? c.text : '')).join('')
}

export class CompletionsNativeWatcher implements NativeStreamWatcher {
  private done = false
  private last: Usage | undefined

  constructor(private readonly includeUsage: boolean) {}

  observe(event: SseEvent): NativeEventView | undefined {
    if (event.data === '[DONE]') {
      this.done = true
      return undefined
    }
    let data: unknown
    try {
      data = JSON.parse(event.data)
    } catch {
      return undefined
    }
    const error = inBandError(event.data, [], data)
    if (error) return { error }
    if (!isObject(data)) return undefined
    if (isObject(data.usage)) this.last = sanitizeUsage(data.usage)
    const choices = Array.isArray(data.choices) ? data.choices : []
    if (choices.length === 0 && data.usage) return this.includeUsage ? undefined : { drop: true }
    return { text: choicesText(data) }
  }

  get usage(): Usage | undefined {
    return this.last
  }

  get complete(): boolean {
    return this.done
  }

  errorEvent(err: GatewayError): string {
    return `data: ${JSON.stringify(err.toJSON())}\n\n`
  }
}

export function completionsNativeJob(opts: CompletionsNativeOptions): NativeJob {
  return {
    accepts: (provider: ProviderEntry) => provider.settings.type === 'openai' || provider.settings.type === 'azure',
    endpoint: (settings, upstreamModel) => (settings.type === 'azure' ? azureNative.completions(settings, upstreamModel) : openaiNative.completions(settings)),
    raw: opts.raw,
    parsed: opts.parsed,
    streamUsage: true,
    usage: (json) => (isObject(json) && isObject(json.usage) ? (json.usage as unknown as Usage) : undefined),
    text: choicesText,
    watch: () => new CompletionsNativeWatcher(opts.includeUsage),
    untranslatable: opts.untranslatable,
  }
}
