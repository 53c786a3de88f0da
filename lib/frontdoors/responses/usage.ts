// Usage from native Responses answers, for passthrough requests (a provider
// that declares native Responses support): cost and records still need the
// token counts, in the canonical chat shape lib/cost consumes.
import type { Usage as ChatUsage } from '../../openai/types.js'
import { SseParser, type SseEvent } from '../../sse.js'
import { chatUsage, count, isObject } from '../shared.js'

/** Responses usage (input_tokens, output_tokens, details) -> canonical chat usage. */
export function chatUsageFromResponses(usage: unknown): ChatUsage | undefined {
  if (!isObject(usage)) return undefined
  const inputDetails = isObject(usage.input_tokens_details) ? usage.input_tokens_details : {}
  const outputDetails = isObject(usage.output_tokens_details) ? usage.output_tokens_details : {}
  return chatUsage({
    input: count(usage.input_tokens),
    output: count(usage.output_tokens),
    cacheRead: count(inputDetails.cached_tokens),
    cacheWrite: count(inputDetails.cache_write_tokens),
    reasoning: count(outputDetails.reasoning_tokens),
  })
}

/** Usage of a non-streamed Response body (parsed JSON). */
export function responsesUsage(json: unknown): ChatUsage | undefined {
  return isObject(json) ? chatUsageFromResponses(json.usage) : undefined
}

const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed'])

/**
 * Watches a native Responses SSE stream as it is relayed: feed it the bytes
 * (push) or already parsed events (observe). Only the terminal events, which
 * carry the whole Response with its usage, are parsed.
 */
export class ResponsesSseUsage {
  private readonly parser = new SseParser()
  private found: ChatUsage | undefined
  private finalStatus: string | undefined

  push(chunk: Uint8Array | string): void {
    for (const event of this.parser.push(chunk)) this.observe(event)
  }

  end(): void {
    for (const event of this.parser.end()) this.observe(event)
  }

  observe(event: SseEvent): void {
    const named = event.event !== undefined && event.event !== 'message'
    if (named ? !TERMINAL_EVENTS.has(event.event!) : !/"type"\s*:\s*"response\.(completed|incomplete|failed)"/.test(event.data)) return
    let data: unknown
    try {
      data = JSON.parse(event.data)
    } catch {
      return
    }
    if (!isObject(data) || !isObject(data.response)) return
    const usage = chatUsageFromResponses(data.response.usage)
    if (usage) this.found = usage
    if (typeof data.response.status === 'string') this.finalStatus = data.response.status
  }

  /** Canonical usage; undefined until a terminal event with usage was seen. */
  get usage(): ChatUsage | undefined {
    return this.found
  }

  /** completed, incomplete or failed, once the terminal event was seen. */
  get status(): string | undefined {
    return this.finalStatus
  }
}
