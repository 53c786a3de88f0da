// Pieces shared by the front doors: reading reasoning text out of a chat
// message or chunk, building the canonical chat message list, SSE framing.
import type { ChatMessage, ContentPart, ToolCall, Usage } from '../openai/types.js'
import { errors } from '../errors.js'

/**
 * Reasoning text as OpenAI-compatible servers report it: `reasoning_content`
 * (DeepSeek, vLLM, Qwen) or `reasoning` (OpenRouter, Ollama, newer vLLM).
 * OpenAI itself never returns reasoning text through Chat Completions.
 */
export function reasoningText(obj: Record<string, unknown> | undefined | null): string | undefined {
  if (!obj) return undefined
  const value = typeof obj.reasoning_content === 'string' ? obj.reasoning_content : obj.reasoning
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** `event: name\ndata: json\n\n`, the framing both Anthropic and the Responses API use. */
export function namedEvent(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
}

/** What a front door needs of an error: a GatewayError or an ErrorInfo both fit. */
export interface GatewayErrorLike {
  status?: number
  statusCode?: number
  type: string
  code: string | null
  message: string
  headers?: Record<string, string>
}

/** A 400 naming the field, in the gateway's error vocabulary. */
export function refuse(message: string, param?: string): Error {
  return errors.invalidBody(message, param)
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Anything → a count ≥ 0 (usage fields may be absent or null). */
export function count(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0
}

export interface UsageNumbers {
  /** All prompt tokens, cached ones included (OpenAI's convention). */
  input: number
  output: number
  cacheRead: number
  cacheWrite: number
  reasoning: number
}

export function usageNumbers(usage: Usage | null | undefined): UsageNumbers {
  return {
    input: count(usage?.prompt_tokens),
    output: count(usage?.completion_tokens),
    cacheRead: count(usage?.prompt_tokens_details?.cached_tokens),
    cacheWrite: count(usage?.prompt_tokens_details?.cache_write_tokens),
    reasoning: count(usage?.completion_tokens_details?.reasoning_tokens),
  }
}

/** Canonical (chat) usage from the numbers; the shape lib/cost consumes. */
export function chatUsage(n: UsageNumbers): Usage {
  const usage: Usage = {
    prompt_tokens: n.input,
    completion_tokens: n.output,
    total_tokens: n.input + n.output,
    prompt_tokens_details: { cached_tokens: n.cacheRead, cache_write_tokens: n.cacheWrite },
  }
  if (n.reasoning > 0) usage.completion_tokens_details = { reasoning_tokens: n.reasoning }
  return usage
}

export const TOOL_ERROR_PREFIX = 'Error: '

/**
 * Builds the canonical chat message list. Tool results may carry images, but
 * Chat Completions only allows text in `tool` messages (OpenAI rejects image
 * parts there), so images are moved into a user message placed right after
 * the run of tool messages, introduced by a line naming the call.
 */
export class ChatMessages {
  readonly messages: ChatMessage[] = []
  private pendingImages: ContentPart[] = []

  system(text: string): void {
    this.flush()
    this.messages.push({ role: 'system', content: text })
  }

  user(content: string | ContentPart[]): void {
    this.flush()
    this.messages.push({ role: 'user', content })
  }

  /** An assistant turn; with `merge`, tool calls join the previous assistant message. */
  assistant(text: string | null, toolCalls: ToolCall[], merge = false): void {
    this.flush()
    const last = this.messages[this.messages.length - 1]
    if (merge && last?.role === 'assistant') {
      // Consecutive assistant items (Responses output messages) stay apart by a blank line.
      if (text) last.content = typeof last.content === 'string' && last.content !== '' ? `${last.content}\n\n${text}` : text
      if (toolCalls.length > 0) last.tool_calls = [...(last.tool_calls ?? []), ...toolCalls]
      return
    }
    const msg: ChatMessage = { role: 'assistant', content: text }
    if (toolCalls.length > 0) msg.tool_calls = toolCalls
    this.messages.push(msg)
  }

  tool(callId: string, text: string, images: ContentPart[]): void {
    this.messages.push({ role: 'tool', tool_call_id: callId, content: text })
    if (images.length > 0) {
      this.pendingImages.push({ type: 'text', text: `Image output of tool call ${callId}:` }, ...images)
    }
  }

  build(): ChatMessage[] {
    this.flush()
    return this.messages
  }

  private flush(): void {
    if (this.pendingImages.length === 0) return
    this.messages.push({ role: 'user', content: this.pendingImages })
    this.pendingImages = []
  }
}
