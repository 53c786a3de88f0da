// Canonical chat completion -> Anthropic Message.
import type { ChatCompletion, FinishReason, Usage as ChatUsage } from '../../openai/types.js'
import { randomIds, type IdGenerator } from '../ids.js'
import { isObject, reasoningText, usageNumbers } from '../shared.js'
import type { MessagesContext } from './request.js'
import type { ContentBlock, Message, StopReason, Usage } from './types.js'

export interface MessagesResponseContext extends MessagesContext {
  /** Message id to use; a fresh msg_… otherwise. */
  id?: string
  ids?: IdGenerator
}

/**
 * Anthropic counts cache reads and writes apart from input_tokens, while chat
 * usage includes them in prompt_tokens, so they are subtracted back out.
 */
export function anthropicUsage(usage: ChatUsage | null | undefined, estimatedInputTokens = 0): Usage {
  if (!usage) {
    return { input_tokens: estimatedInputTokens, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
  }
  const n = usageNumbers(usage)
  return {
    input_tokens: Math.max(0, n.input - n.cacheRead - n.cacheWrite),
    output_tokens: n.output,
    cache_creation_input_tokens: n.cacheWrite,
    cache_read_input_tokens: n.cacheRead,
  }
}

/**
 * The sequence that stopped generation, when the backend names it. vLLM puts
 * it in the choice's `stop_reason`; OpenAI, Azure and Gemini do not say, so
 * their stops read as end_turn.
 */
export function matchedStopSequence(choice: Record<string, unknown> | undefined, stopSequences: string[]): string | null {
  const reason = choice?.stop_reason
  return typeof reason === 'string' && stopSequences.includes(reason) ? reason : null
}

export function stopReason(finish: FinishReason | string | null | undefined, stopSequence: string | null, refused: boolean): StopReason {
  if (refused) return 'refusal'
  switch (finish) {
    case 'length':
      return 'max_tokens'
    case 'tool_calls':
    case 'function_call':
      return 'tool_use'
    case 'content_filter':
      return 'refusal'
    default:
      return stopSequence !== null ? 'stop_sequence' : 'end_turn'
  }
}

/** Tool arguments -> tool_use.input, which Anthropic defines as an object. */
export function toolInput(args: string): Record<string, unknown> {
  if (args.trim() === '') return {}
  try {
    const value: unknown = JSON.parse(args)
    return isObject(value) ? value : {}
  } catch {
    // Truncated (max tokens) or invalid JSON from the backend: nothing to recover.
    return {}
  }
}

/** Canonical chat completion -> Anthropic Message. */
export function chatToMessages(chat: ChatCompletion, ctx: MessagesResponseContext): Message {
  const choice = chat.choices?.[0]
  const message = choice?.message
  const content: ContentBlock[] = []
  const thinking = reasoningText(message)
  if (ctx.thinking && thinking !== undefined) content.push({ type: 'thinking', thinking, signature: '' })
  if (typeof message?.content === 'string' && message.content !== '') content.push({ type: 'text', text: message.content })
  const refusal = typeof message?.refusal === 'string' && message.refusal !== '' ? message.refusal : undefined
  if (refusal !== undefined) content.push({ type: 'text', text: refusal })
  for (const call of message?.tool_calls ?? []) {
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments ?? '') })
  }
  const stopSequence = matchedStopSequence(choice, ctx.stopSequences)
  const reason = stopReason(choice?.finish_reason, stopSequence, refusal !== undefined)
  return {
    id: ctx.id ?? (ctx.ids ?? randomIds)('msg_'),
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content,
    stop_reason: reason,
    stop_sequence: reason === 'stop_sequence' ? stopSequence : null,
    usage: anthropicUsage(chat.usage),
  }
}
