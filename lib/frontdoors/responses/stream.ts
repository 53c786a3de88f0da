// chat.completion.chunk stream -> Responses API semantic events.
//
// Order, as OpenAI sends it: response.created, response.in_progress; per
// output item output_item.added, then for messages content_part.added,
// output_text.delta…, output_text.done, content_part.done, and for function
// calls function_call_arguments.delta…/.done; output_item.done; finally
// response.completed (or response.incomplete). Every event carries a
// sequence_number counting from 0. Items are opened in the order the backend
// streams them and closed when the next one starts, like OpenAI's; a backend
// that resumes a closed tool call is reported as a bad upstream response.
//
// Reasoning text (reasoning_content / reasoning deltas) becomes a reasoning
// item with reasoning_text content, the shape OpenAI uses for raw reasoning.
// Custom (free-form) tool calls arrive as JSON arguments {"input": …}; their
// input is decoded and sent as one custom_tool_call_input.delta when the call
// ends.
import type { ChatCompletionChunk, FinishReason, Usage as ChatUsage } from '../../openai/types.js'
import { errors } from '../../errors.js'
import { randomIds, type IdGenerator } from '../ids.js'
import { namedEvent, reasoningText, type GatewayErrorLike } from '../shared.js'
import { customInput, responseEnvelope, responseStatus, responseUsage, type ResponsesResponseContext } from './response.js'
import type { OutputItem, OutputText, Refusal, Response, StreamEvent } from './types.js'

export type ResponsesStreamContext = ResponsesResponseContext

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
type EventBody = DistributiveOmit<StreamEvent, 'sequence_number'>

type Open =
  | { kind: 'reasoning'; outputIndex: number; text: string }
  | { kind: 'message'; outputIndex: number; part: 'text' | 'refusal' | undefined }
  | { kind: 'tool'; outputIndex: number; toolIndex: number; args: string }

export class ResponsesStreamTranslator {
  private readonly ids: IdGenerator
  private readonly snapshot: Response
  private readonly toolOutputIndex = new Map<number, number>()
  private seq = 0
  private open: Open | undefined
  private started = false
  private ended = false
  private finishReason: FinishReason | string | null = null
  private usage: ChatUsage | undefined

  constructor(private readonly ctx: ResponsesStreamContext) {
    this.ids = ctx.ids ?? randomIds
    this.snapshot = responseEnvelope(ctx, ctx.id ?? this.ids('resp_'), ctx.createdAt ?? Math.floor(Date.now() / 1000), 'in_progress')
  }

  /** response.created and response.in_progress; push() sends them when they have not been sent. */
  start(): string {
    if (this.started || this.ended) return ''
    this.started = true
    return this.emit({ type: 'response.created', response: this.copy() }) + this.emit({ type: 'response.in_progress', response: this.copy() })
  }

  push(chunk: ChatCompletionChunk): string {
    if (this.ended) return ''
    let out = this.start()
    if (chunk.usage) this.usage = chunk.usage
    const choice = chunk.choices?.find((c) => c.index === 0) ?? chunk.choices?.[0]
    if (!choice) return out
    const delta = choice.delta ?? {}
    const reasoning = reasoningText(delta)
    if (reasoning !== undefined) out += this.onReasoning(reasoning)
    if (typeof delta.content === 'string' && delta.content !== '') out += this.onMessageText('text', delta.content)
    if (typeof delta.refusal === 'string' && delta.refusal !== '') out += this.onMessageText('refusal', delta.refusal)
    for (const call of delta.tool_calls ?? []) out += this.onToolDelta(call)
    if (choice.finish_reason) this.finishReason = choice.finish_reason
    return out
  }

  /**
   * Closes the open item and ends with response.completed, or
   * response.incomplete when the backend stopped on length or a content
   * filter. `usage` is reported when the stream itself carried none.
   */
  finish(usage?: ChatUsage): string {
    if (this.ended) return ''
    const { status, incomplete_details } = responseStatus(this.finishReason)
    let out = this.start() + this.closeOpen(status === 'incomplete' ? 'incomplete' : 'completed')
    this.ended = true
    this.snapshot.status = status
    this.snapshot.incomplete_details = incomplete_details
    this.snapshot.usage = responseUsage(this.usage ?? usage)
    out += this.emit({ type: status === 'incomplete' ? 'response.incomplete' : 'response.completed', response: this.copy() })
    return out
  }

  /** A failure after the first byte: an `error` event, then response.failed carrying what was produced. */
  error(err: GatewayErrorLike): string {
    if (this.ended) return ''
    let out = this.start() + this.closeOpen('incomplete')
    this.ended = true
    const status = err.statusCode ?? err.status ?? 500
    this.snapshot.status = 'failed'
    this.snapshot.error = { code: status === 429 ? 'rate_limit_exceeded' : 'server_error', message: err.message }
    this.snapshot.usage = responseUsage(this.usage)
    out += this.emit({ type: 'error', code: err.code, message: err.message, param: null })
    return out + this.emit({ type: 'response.failed', response: this.copy() })
  }

  /** The Response as last sent (final after finish() or error()), for storage. */
  get response(): Response {
    return this.copy()
  }

  private emit(event: EventBody): string {
    const data = { ...event, sequence_number: this.seq++ }
    return namedEvent(event.type, data)
  }

  private copy(): Response {
    return structuredClone(this.snapshot)
  }

  private addItem(item: OutputItem): { out: string; outputIndex: number } {
    const outputIndex = this.snapshot.output.length
    this.snapshot.output.push(item)
    return { out: this.emit({ type: 'response.output_item.added', output_index: outputIndex, item: structuredClone(item) }), outputIndex }
  }

  private onReasoning(text: string): string {
    let out = ''
    if (this.open?.kind !== 'reasoning') {
      out += this.closeOpen('completed')
      const added = this.addItem({ type: 'reasoning', id: this.ids('rs_'), summary: [], content: [] })
      out += added.out
      this.open = { kind: 'reasoning', outputIndex: added.outputIndex, text: '' }
      out += this.emit({ type: 'response.content_part.added', item_id: this.itemId(added.outputIndex), output_index: added.outputIndex, content_index: 0, part: { type: 'reasoning_text', text: '' } })
    }
    const open = this.open
    open.text += text
    return out + this.emit({ type: 'response.reasoning_text.delta', item_id: this.itemId(open.outputIndex), output_index: open.outputIndex, content_index: 0, delta: text })
  }

  private onMessageText(part: 'text' | 'refusal', text: string): string {
    let out = ''
    if (this.open?.kind !== 'message') {
      out += this.closeOpen('completed')
      const added = this.addItem({ type: 'message', id: this.ids('msg_'), status: 'in_progress', role: 'assistant', content: [] })
      out += added.out
      this.open = { kind: 'message', outputIndex: added.outputIndex, part: undefined }
    }
    const open = this.open
    const item = this.snapshot.output[open.outputIndex]
    if (item?.type !== 'message') return out
    if (open.part !== part) {
      out += this.closePart(open, item.content)
      const fresh: OutputText | Refusal = part === 'text' ? { type: 'output_text', text: '', annotations: [], logprobs: [] } : { type: 'refusal', refusal: '' }
      item.content.push(fresh)
      open.part = part
      out += this.emit({ type: 'response.content_part.added', item_id: item.id, output_index: open.outputIndex, content_index: item.content.length - 1, part: structuredClone(fresh) })
    }
    const contentIndex = item.content.length - 1
    const current = item.content[contentIndex]!
    if (current.type === 'output_text') {
      current.text += text
      return out + this.emit({ type: 'response.output_text.delta', item_id: item.id, output_index: open.outputIndex, content_index: contentIndex, delta: text, logprobs: [] })
    }
    current.refusal += text
    return out + this.emit({ type: 'response.refusal.delta', item_id: item.id, output_index: open.outputIndex, content_index: contentIndex, delta: text })
  }

  private onToolDelta(call: NonNullable<ChatCompletionChunk['choices'][number]['delta']['tool_calls']>[number]): string {
    let out = ''
    const toolIndex = typeof call.index === 'number' ? call.index : 0
    let outputIndex = this.toolOutputIndex.get(toolIndex)
    if (outputIndex === undefined) {
      out += this.closeOpen('completed')
      const chatName = call.function?.name ?? ''
      const origin = this.ctx.toolNames[chatName]
      const callId = call.id || this.ids('call_')
      const ns = origin?.namespace ? { namespace: origin.namespace } : {}
      const item: OutputItem = origin?.custom
        ? { type: 'custom_tool_call', id: this.ids('ctc_'), call_id: callId, name: origin.name, ...ns, input: '' }
        : { type: 'function_call', id: this.ids('fc_'), call_id: callId, name: origin?.name ?? chatName, ...ns, arguments: '', status: 'in_progress' }
      const added = this.addItem(item)
      out += added.out
      outputIndex = added.outputIndex
      this.toolOutputIndex.set(toolIndex, outputIndex)
      this.open = { kind: 'tool', outputIndex, toolIndex, args: '' }
    }
    const fragment = call.function?.arguments
    if (typeof fragment !== 'string' || fragment === '') return out
    const open = this.open
    if (open?.kind !== 'tool' || open.toolIndex !== toolIndex) {
      throw errors.upstreamBadResponse(`tool call ${toolIndex} continued after another output item started`)
    }
    open.args += fragment
    const item = this.snapshot.output[outputIndex]
    if (item?.type !== 'function_call') return out // custom tool input is sent decoded, when the call ends
    item.arguments += fragment
    return out + this.emit({ type: 'response.function_call_arguments.delta', item_id: item.id, output_index: outputIndex, delta: fragment })
  }

  private closePart(open: Extract<Open, { kind: 'message' }>, content: Array<OutputText | Refusal>): string {
    if (open.part === undefined) return ''
    const contentIndex = content.length - 1
    const part = content[contentIndex]!
    const itemId = this.itemId(open.outputIndex)
    const base = { item_id: itemId, output_index: open.outputIndex, content_index: contentIndex }
    let out =
      part.type === 'output_text'
        ? this.emit({ type: 'response.output_text.done', ...base, text: part.text, logprobs: [] })
        : this.emit({ type: 'response.refusal.done', ...base, refusal: part.refusal })
    out += this.emit({ type: 'response.content_part.done', ...base, part: structuredClone(part) })
    open.part = undefined
    return out
  }

  private closeOpen(status: 'completed' | 'incomplete'): string {
    const open = this.open
    if (!open) return ''
    this.open = undefined
    const item = this.snapshot.output[open.outputIndex]!
    let out = ''
    if (open.kind === 'reasoning' && item.type === 'reasoning') {
      const base = { item_id: item.id, output_index: open.outputIndex, content_index: 0 }
      item.content = [{ type: 'reasoning_text', text: open.text }]
      out += this.emit({ type: 'response.reasoning_text.done', ...base, text: open.text })
      out += this.emit({ type: 'response.content_part.done', ...base, part: { type: 'reasoning_text', text: open.text } })
    } else if (open.kind === 'message' && item.type === 'message') {
      out += this.closePart(open, item.content)
      item.status = status
    } else if (open.kind === 'tool' && item.type === 'function_call') {
      out += this.emit({ type: 'response.function_call_arguments.done', item_id: item.id, output_index: open.outputIndex, name: item.name, arguments: item.arguments })
      item.status = status
    } else if (open.kind === 'tool' && item.type === 'custom_tool_call') {
      item.input = customInput(open.args)
      const base = { item_id: item.id, output_index: open.outputIndex }
      if (item.input !== '') out += this.emit({ type: 'response.custom_tool_call_input.delta', ...base, delta: item.input })
      out += this.emit({ type: 'response.custom_tool_call_input.done', ...base, input: item.input })
    }
    return out + this.emit({ type: 'response.output_item.done', output_index: open.outputIndex, item: structuredClone(item) })
  }

  private itemId(outputIndex: number): string {
    return this.snapshot.output[outputIndex]!.id
  }
}
