// Usage from native Anthropic answers, for passthrough requests (a Messages
// request sent to an Anthropic deployment as is): cost and records still need
// the token counts. Returned in the canonical chat shape lib/cost consumes,
// with the same convention as the Anthropic backend adapter (prompt_tokens
// includes cache reads and writes).
import type { Usage as ChatUsage } from '../../openai/types.js'
import { openaiUsage, type AnthropicUsage } from '../../providers/anthropic/response.js'
import { SseParser, type SseEvent } from '../../sse.js'
import { isObject } from '../shared.js'

/** Usage of a non-streamed Message body (parsed JSON); undefined when it has none. */
export function anthropicMessageUsage(json: unknown): ChatUsage | undefined {
  const usage = isObject(json) ? json.usage : undefined
  return isObject(usage) ? openaiUsage(usage as AnthropicUsage) : undefined
}

const USAGE_EVENTS = new Set(['message_start', 'message_delta'])

/**
 * Watches a native Anthropic SSE stream as it is relayed: feed it the bytes
 * (push) or already parsed events (observe). Only message_start and
 * message_delta are parsed; content deltas are skipped without parsing, and
 * nothing is kept beyond the current partial line.
 */
export class AnthropicSseUsage {
  private readonly parser = new SseParser()
  private raw: AnthropicUsage | undefined
  private stop: string | null = null

  push(chunk: Uint8Array | string): void {
    for (const event of this.parser.push(chunk)) this.observe(event)
  }

  end(): void {
    for (const event of this.parser.end()) this.observe(event)
  }

  observe(event: SseEvent): void {
    // Anthropic names every event; an unnamed one is only parsed if it could matter.
    if (event.event !== undefined ? !USAGE_EVENTS.has(event.event) : !event.data.includes('"usage"')) return
    let data: unknown
    try {
      data = JSON.parse(event.data)
    } catch {
      return
    }
    if (!isObject(data)) return
    if (data.type === 'message_start' && isObject(data.message)) this.merge(data.message.usage)
    else if (data.type === 'message_delta') {
      this.merge(data.usage)
      const reason = isObject(data.delta) ? data.delta.stop_reason : undefined
      if (typeof reason === 'string') this.stop = reason
    }
  }

  /** Canonical usage so far; undefined until message_start arrived. */
  get usage(): ChatUsage | undefined {
    return this.raw ? openaiUsage(this.raw) : undefined
  }

  get stopReason(): string | null {
    return this.stop
  }

  // message_delta counts are cumulative totals; a null or absent field means "unchanged".
  private merge(usage: unknown): void {
    if (!isObject(usage)) return
    const merged: AnthropicUsage = { ...this.raw }
    for (const [key, value] of Object.entries(usage)) if (typeof value === 'number') merged[key] = value
    this.raw = merged
  }
}
