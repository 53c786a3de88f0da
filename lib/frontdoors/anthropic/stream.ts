// chat.completion.chunk stream -> Anthropic Messages SSE.
//
// Event order, as Anthropic sends it: message_start (input usage), then per
// content block content_block_start / content_block_delta… / content_block_stop
// (a ping after the first block start), then message_delta (stop_reason,
// final usage) and message_stop. Blocks are strictly sequential, so a backend
// that streams one tool call's arguments after another call has started
// cannot be expressed; that is reported as a bad upstream response (OpenAI,
// Azure, vLLM and the gateway's Gemini adapter all stream calls one by one).
import type { ChatCompletionChunk, FinishReason, Usage as ChatUsage } from '../../openai/types.js'
import { errors } from '../../errors.js'
import { randomIds } from '../ids.js'
import { namedEvent, reasoningText } from '../shared.js'
import { anthropicError, type GatewayErrorLike } from './errors.js'
import { anthropicUsage, matchedStopSequence, stopReason, toolInput, type MessagesResponseContext } from './response.js'
import type { ContentBlock, Message, StreamEvent } from './types.js'

export interface MessagesStreamContext extends MessagesResponseContext {
  /** Prompt tokens estimated before the call: message_start reports them (the real count arrives last). */
  estimatedInputTokens?: number
}

type OpenBlock = { kind: 'text' | 'thinking' } | { kind: 'tool'; toolIndex: number }

interface ToolState {
  blockIndex: number
  args: string
}

export class MessagesStreamTranslator {
  private readonly id: string
  private readonly blocks: ContentBlock[] = []
  private readonly tools = new Map<number, ToolState>()
  private open: OpenBlock | undefined
  private started = false
  private ended = false
  private pinged = false
  private finishReason: FinishReason | string | null = null
  private stopSequence: string | null = null
  private refused = false
  private usage: ChatUsage | undefined

  constructor(private readonly ctx: MessagesStreamContext) {
    this.id = ctx.id ?? (ctx.ids ?? randomIds)('msg_')
  }

  /** message_start; push() sends it too when it has not been sent. */
  start(): string {
    if (this.started || this.ended) return ''
    this.started = true
    const message: Message = {
      id: this.id,
      type: 'message',
      role: 'assistant',
      model: this.ctx.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: anthropicUsage(undefined, this.ctx.estimatedInputTokens ?? 0),
    }
    return this.emit({ type: 'message_start', message })
  }

  push(chunk: ChatCompletionChunk): string {
    if (this.ended) return ''
    let out = this.start()
    if (chunk.usage) this.usage = chunk.usage
    const choice = chunk.choices?.find((c) => c.index === 0) ?? chunk.choices?.[0]
    if (!choice) return out
    const delta = choice.delta ?? {}

    const thinking = reasoningText(delta)
    if (thinking !== undefined && this.ctx.thinking) {
      out += this.ensureOpen({ kind: 'thinking' })
      this.appendThinking(thinking)
      out += this.emit({ type: 'content_block_delta', index: this.blocks.length - 1, delta: { type: 'thinking_delta', thinking } })
    }
    if (typeof delta.content === 'string' && delta.content !== '') out += this.onText(delta.content)
    // A refusal is text to an Anthropic client; stop_reason says it was one.
    if (typeof delta.refusal === 'string' && delta.refusal !== '') {
      this.refused = true
      out += this.onText(delta.refusal)
    }
    for (const call of delta.tool_calls ?? []) out += this.onToolDelta(call)

    if (choice.finish_reason) {
      this.finishReason = choice.finish_reason
      this.stopSequence = matchedStopSequence(choice, this.ctx.stopSequences)
    }
    return out
  }

  /**
   * Closes the message: the open block, message_delta, message_stop. `usage`
   * is reported when the stream itself carried none (the caller's estimate);
   * usage from the stream always wins.
   */
  finish(usage?: ChatUsage): string {
    if (this.ended) return ''
    let out = this.start() + this.closeOpen()
    this.ended = true
    const final = this.usage ?? usage
    if (final) this.usage = final
    const reason = stopReason(this.finishReason, this.stopSequence, this.refused)
    out += this.emit({
      type: 'message_delta',
      delta: { stop_reason: reason, stop_sequence: reason === 'stop_sequence' ? this.stopSequence : null },
      usage: anthropicUsage(final, this.ctx.estimatedInputTokens ?? 0),
    })
    return out + this.emit({ type: 'message_stop' })
  }

  /** An `error` event for a failure after the first byte; the stream ends there. */
  error(err: GatewayErrorLike): string {
    if (this.ended) return ''
    this.ended = true
    return this.emit(anthropicError(err).body)
  }

  /** The message as the client has received it so far (complete after finish()). */
  get message(): Message {
    const reason = this.ended ? stopReason(this.finishReason, this.stopSequence, this.refused) : null
    return {
      id: this.id,
      type: 'message',
      role: 'assistant',
      model: this.ctx.model,
      content: this.blocks.map((b) => ({ ...b })),
      stop_reason: reason,
      stop_sequence: reason === 'stop_sequence' ? this.stopSequence : null,
      usage: anthropicUsage(this.usage, this.ctx.estimatedInputTokens ?? 0),
    }
  }

  private emit(event: StreamEvent): string {
    return namedEvent(event.type, event)
  }

  private onText(text: string): string {
    const out = this.ensureOpen({ kind: 'text' })
    this.appendText(text)
    return out + this.emit({ type: 'content_block_delta', index: this.blocks.length - 1, delta: { type: 'text_delta', text } })
  }

  private onToolDelta(call: NonNullable<ChatCompletionChunk['choices'][number]['delta']['tool_calls']>[number]): string {
    let out = ''
    const index = typeof call.index === 'number' ? call.index : 0
    let tool = this.tools.get(index)
    if (!tool) {
      out += this.closeOpen()
      const id = call.id || (this.ctx.ids ?? randomIds)('toolu_')
      const name = call.function?.name ?? ''
      tool = { blockIndex: this.blocks.length, args: '' }
      this.tools.set(index, tool)
      this.blocks.push({ type: 'tool_use', id, name, input: {} })
      this.open = { kind: 'tool', toolIndex: index }
      out += this.emit({ type: 'content_block_start', index: tool.blockIndex, content_block: { type: 'tool_use', id, name, input: {} } })
      out += this.ping()
    }
    const fragment = call.function?.arguments
    const isOpen = this.open?.kind === 'tool' && this.open.toolIndex === index
    if (!isOpen && typeof fragment === 'string' && fragment !== '') {
      throw errors.upstreamBadResponse(`tool call ${index} continued after another content block started`)
    }
    if (typeof fragment === 'string' && fragment !== '') {
      tool.args += fragment
      out += this.emit({ type: 'content_block_delta', index: tool.blockIndex, delta: { type: 'input_json_delta', partial_json: fragment } })
    }
    return out
  }

  private ensureOpen(want: { kind: 'text' | 'thinking' }): string {
    if (this.open?.kind === want.kind) return ''
    let out = this.closeOpen()
    const index = this.blocks.length
    const block: ContentBlock = want.kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' }
    this.blocks.push(block)
    this.open = want
    out += this.emit({ type: 'content_block_start', index, content_block: { ...block } })
    return out + this.ping()
  }

  private ping(): string {
    if (this.pinged) return ''
    this.pinged = true
    return this.emit({ type: 'ping' })
  }

  private closeOpen(): string {
    if (!this.open) return ''
    const index = this.open.kind === 'tool' ? this.tools.get(this.open.toolIndex)!.blockIndex : this.blocks.length - 1
    if (this.open.kind === 'tool') {
      const block = this.blocks[index]
      if (block?.type === 'tool_use') block.input = toolInput(this.tools.get(this.open.toolIndex)!.args)
    }
    this.open = undefined
    return this.emit({ type: 'content_block_stop', index })
  }

  private appendText(text: string): void {
    const block = this.blocks[this.blocks.length - 1]
    if (block?.type === 'text') block.text += text
  }

  private appendThinking(text: string): void {
    const block = this.blocks[this.blocks.length - 1]
    if (block?.type === 'thinking') block.thinking += text
  }
}
