// Anthropic message -> OpenAI chat.completion.
import type { ChatCompletion, FinishReason, ToolCall, Usage } from '../../openai/types.js'
import { UpstreamError, type TranslateContext } from '../types.js'
import { anthropicErrorInfo, parseAnthropicError } from './errors.js'

export interface AnthropicUsage {
  input_tokens?: number | null
  output_tokens?: number | null
  cache_creation_input_tokens?: number | null
  cache_read_input_tokens?: number | null
  [k: string]: unknown
}

/** Response content block; only text and tool_use are read. */
export interface AnthropicContentBlock {
  type: string
  text?: string
  id?: string
  name?: string
  input?: unknown
  [k: string]: unknown
}

export interface AnthropicMessage {
  id: string
  type: 'message'
  role: 'assistant'
  model?: string
  content: AnthropicContentBlock[]
  stop_reason: string | null
  stop_sequence?: string | null
  usage?: AnthropicUsage
}

const FINISH_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  // A server tool loop hit its iteration limit; the turn is over for the client.
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
}

export function finishReason(stopReason: string | null | undefined): FinishReason {
  if (stopReason === null || stopReason === undefined) return null
  return FINISH_REASONS[stopReason] ?? 'stop'
}

const count = (n: number | null | undefined): number => (typeof n === 'number' ? n : 0)

/**
 * Anthropic's input_tokens excludes cached tokens while OpenAI's prompt_tokens
 * includes them, so the three input counters are summed.
 */
export function openaiUsage(usage: AnthropicUsage): Usage {
  const cacheRead = count(usage.cache_read_input_tokens)
  const cacheWrite = count(usage.cache_creation_input_tokens)
  const prompt = count(usage.input_tokens) + cacheRead + cacheWrite
  const completion = count(usage.output_tokens)
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite },
  }
}

function isMessage(json: unknown): json is AnthropicMessage {
  const m = json as Partial<AnthropicMessage> | null
  return typeof m === 'object' && m !== null && m.type === 'message' && typeof m.id === 'string' && Array.isArray(m.content)
}

/** ChatTranslator.response. */
export function anthropicResponse(json: unknown, ctx: TranslateContext): ChatCompletion {
  if (!isMessage(json)) {
    const err = parseAnthropicError(json)
    if (err) throw new UpstreamError(anthropicErrorInfo(err.type, err.message))
    throw new UpstreamError({
      status: 502,
      type: 'upstream_error',
      code: null,
      message: 'Anthropic returned a response that is not a message',
      param: null,
    })
  }
  const texts: string[] = []
  const toolCalls: ToolCall[] = []
  for (const block of json.content) {
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text)
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: String(block.id),
        type: 'function',
        function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) },
      })
    }
  }
  const content = texts.length > 0 ? texts.join('') : toolCalls.length > 0 ? null : ''
  const completion: ChatCompletion = {
    id: json.id,
    object: 'chat.completion',
    created: ctx.created,
    model: json.model ?? ctx.upstreamModel,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        finish_reason: finishReason(json.stop_reason),
        logprobs: null,
      },
    ],
  }
  if (json.usage) completion.usage = openaiUsage(json.usage)
  return completion
}
