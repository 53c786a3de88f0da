// Gemini GenerateContentResponse -> OpenAI chat.completion. The helpers here
// are shared with the stream translator, which sees the same shape per chunk.
import type { ChatCompletion, FinishReason, ToolCall, Usage } from '../../openai/types.js'
import type { TranslateContext } from '../types.js'
import { UpstreamError } from '../types.js'
import type { GeminiContent, GeminiPart } from './request.js'

export interface GeminiCandidate {
  content?: GeminiContent
  finishReason?: string
  /** proto3 JSON omits a zero index, so candidate 0 often has none. */
  index?: number
  [k: string]: unknown
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number
  candidatesTokenCount?: number
  totalTokenCount?: number
  cachedContentTokenCount?: number
  thoughtsTokenCount?: number
  toolUsePromptTokenCount?: number
  [k: string]: unknown
}

export interface GenerateContentResponse {
  candidates?: GeminiCandidate[]
  promptFeedback?: { blockReason?: string; [k: string]: unknown }
  usageMetadata?: GeminiUsageMetadata
  modelVersion?: string
  responseId?: string
  error?: unknown
}

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY'])

export function finishReason(reason: string, hasToolCalls: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length'
  if (FILTERED.has(reason)) return 'content_filter'
  return hasToolCalls ? 'tool_calls' : 'stop'
}

export function toUsage(u: GeminiUsageMetadata): Usage {
  const prompt = u.promptTokenCount ?? 0
  const completion = (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0)
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: u.totalTokenCount ?? prompt + completion,
  }
  if (u.cachedContentTokenCount !== undefined) usage.prompt_tokens_details = { cached_tokens: u.cachedContentTokenCount }
  if (u.thoughtsTokenCount !== undefined) usage.completion_tokens_details = { reasoning_tokens: u.thoughtsTokenCount }
  return usage
}

/** Gemini function calls carry no usable id, so ids are derived from the request id. */
export function toolCallId(ctx: TranslateContext, n: number): string {
  return `call_${ctx.requestId}_${n}`
}

export interface SplitParts {
  /** Answer text, or null when the parts held none. Thought summaries are skipped. */
  text: string | null
  calls: Array<{ name: string; args: Record<string, unknown> }>
}

export function splitParts(parts: GeminiPart[] | undefined): SplitParts {
  let text: string | null = null
  const calls: SplitParts['calls'] = []
  for (const part of parts ?? []) {
    if (part.thought === true) continue
    if (typeof part.text === 'string') text = (text ?? '') + part.text
    if (part.functionCall) calls.push({ name: part.functionCall.name, args: part.functionCall.args ?? {} })
  }
  return { text, calls }
}

export function asResponse(json: unknown): GenerateContentResponse {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UpstreamError({ status: 502, type: 'upstream_error', code: null, message: 'gemini returned an unexpected response body' })
  }
  return json as GenerateContentResponse
}

export function geminiChatResponse(json: unknown, ctx: TranslateContext): ChatCompletion {
  const res = asResponse(json)
  const candidates = Array.isArray(res.candidates) ? res.candidates : []
  let nextCall = 0
  const choices: ChatCompletion['choices'] = candidates.map((c, position) => {
    const { text, calls } = splitParts(c.content?.parts)
    const toolCalls: ToolCall[] = calls.map((call) => ({
      id: toolCallId(ctx, nextCall++),
      type: 'function',
      function: { name: call.name, arguments: JSON.stringify(call.args) },
    }))
    return {
      index: c.index ?? position,
      message: { role: 'assistant', content: text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
      finish_reason: finishReason(c.finishReason ?? 'STOP', toolCalls.length > 0),
      logprobs: null,
    }
  })
  if (choices.length === 0 && res.promptFeedback?.blockReason) {
    choices.push({ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'content_filter', logprobs: null })
  }
  const completion: ChatCompletion = {
    id: `chatcmpl-${ctx.requestId}`,
    object: 'chat.completion',
    created: ctx.created,
    model: res.modelVersion ?? ctx.upstreamModel,
    choices,
  }
  if (res.usageMetadata) completion.usage = toUsage(res.usageMetadata)
  return completion
}
