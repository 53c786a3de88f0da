// Canonical chat completion -> Response object.
import type { ChatCompletion, FinishReason, ToolCall, Usage as ChatUsage } from '../../openai/types.js'
import { randomIds, type IdGenerator } from '../ids.js'
import { isObject, reasoningText, usageNumbers } from '../shared.js'
import type { ResponsesContext } from './request.js'
import type { OutputItem, OutputMessage, Response, ResponseStatus, ResponseUsage } from './types.js'

export interface ResponsesResponseContext extends ResponsesContext {
  /** Response id to use; a fresh resp_… otherwise. */
  id?: string
  /** Unix seconds; now otherwise. */
  createdAt?: number
  ids?: IdGenerator
}

export function responseUsage(usage: ChatUsage | null | undefined): ResponseUsage | null {
  if (!usage) return null
  const n = usageNumbers(usage)
  return {
    input_tokens: n.input,
    input_tokens_details: { cached_tokens: n.cacheRead },
    output_tokens: n.output,
    output_tokens_details: { reasoning_tokens: n.reasoning },
    total_tokens: n.input + n.output,
  }
}

/** finish_reason -> the Response's status and incomplete_details. */
export function responseStatus(finish: FinishReason | string | null | undefined): Pick<Response, 'status' | 'incomplete_details'> {
  if (finish === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }
  if (finish === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } }
  return { status: 'completed', incomplete_details: null }
}

/** The Response envelope: every field echoes the request, as OpenAI's does. */
export function responseEnvelope(ctx: ResponsesContext, id: string, createdAt: number, status: ResponseStatus): Response {
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: ctx.instructions,
    max_output_tokens: ctx.maxOutputTokens,
    model: ctx.model,
    output: [],
    parallel_tool_calls: ctx.parallelToolCalls,
    previous_response_id: ctx.previousResponseId,
    reasoning: ctx.reasoning,
    store: ctx.store,
    temperature: ctx.temperature,
    text: ctx.text,
    tool_choice: ctx.toolChoice,
    tools: ctx.tools,
    top_p: ctx.topP,
    truncation: 'disabled',
    usage: null,
    user: ctx.user,
    metadata: ctx.metadata,
  }
}

/** A chat tool call -> function_call or custom_tool_call, names mapped back to what the client declared. */
export function toolCallItem(call: ToolCall, ctx: ResponsesContext, itemId: string, status: 'completed' | 'incomplete'): OutputItem {
  const origin = ctx.toolNames[call.function.name]
  const args = call.function.arguments ?? ''
  const ns = origin?.namespace ? { namespace: origin.namespace } : {}
  if (origin?.custom) return { type: 'custom_tool_call', id: itemId, call_id: call.id, name: origin.name, ...ns, input: customInput(args) }
  return { type: 'function_call', id: itemId, call_id: call.id, name: origin?.name ?? call.function.name, ...ns, arguments: args, status }
}

/** The `input` argument of a custom tool's stand-in function; the raw arguments when the model ignored the schema. */
export function customInput(args: string): string {
  try {
    const value: unknown = JSON.parse(args)
    if (isObject(value) && typeof value.input === 'string') return value.input
  } catch {
    // fall through
  }
  return args
}

export function chatToResponse(chat: ChatCompletion, ctx: ResponsesResponseContext): Response {
  const ids = ctx.ids ?? randomIds
  const choice = chat.choices?.[0]
  const message = choice?.message
  const { status, incomplete_details } = responseStatus(choice?.finish_reason)
  const itemStatus = status === 'incomplete' ? 'incomplete' : 'completed'
  const response = responseEnvelope(ctx, ctx.id ?? ids('resp_'), ctx.createdAt ?? Math.floor(Date.now() / 1000), status)
  response.incomplete_details = incomplete_details

  const reasoning = reasoningText(message)
  if (reasoning !== undefined) {
    response.output.push({ type: 'reasoning', id: ids('rs_'), summary: [], content: [{ type: 'reasoning_text', text: reasoning }] })
  }
  const content: OutputMessage['content'] = []
  if (typeof message?.content === 'string' && message.content !== '') {
    content.push({ type: 'output_text', text: message.content, annotations: [], logprobs: [] })
  }
  if (typeof message?.refusal === 'string' && message.refusal !== '') content.push({ type: 'refusal', refusal: message.refusal })
  if (content.length > 0) response.output.push({ type: 'message', id: ids('msg_'), status: itemStatus, role: 'assistant', content })
  for (const call of message?.tool_calls ?? []) response.output.push(toolCallItem(call, ctx, ids(ctx.toolNames[call.function.name]?.custom ? 'ctc_' : 'fc_'), itemStatus))
  response.usage = responseUsage(chat.usage)
  return response
}
