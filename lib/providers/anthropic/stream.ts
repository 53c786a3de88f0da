// Anthropic SSE events -> OpenAI chat.completion.chunk objects.
//
// Anthropic numbers content blocks across text and tool_use alike, while
// OpenAI numbers tool calls on their own; the block -> tool index map bridges
// the two so interleaved text and parallel tool calls keep their identity.
import type { ChatCompletionChunk, FinishReason } from '../../openai/types.js'
import type { SseEvent } from '../../sse.js'
import { UpstreamError, type StreamTranslator, type TranslateContext } from '../types.js'
import { anthropicErrorInfo, parseAnthropicError } from './errors.js'
import { finishReason, openaiUsage, type AnthropicContentBlock, type AnthropicUsage } from './response.js'

type Delta = ChatCompletionChunk['choices'][number]['delta']

interface StreamEventData {
  type?: string
  index?: number
  message?: { id?: string; model?: string; usage?: AnthropicUsage }
  content_block?: AnthropicContentBlock
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null }
  usage?: AnthropicUsage
  error?: unknown
}

function malformed(what: string): UpstreamError {
  return new UpstreamError({ status: 502, type: 'upstream_error', code: null, message: `Anthropic stream: ${what}`, param: null })
}

export class AnthropicStreamTranslator implements StreamTranslator {
  private id: string
  private model: string
  private usage: AnthropicUsage | undefined
  private readonly toolIndexByBlock = new Map<number, number>()
  private finished = false

  constructor(private readonly ctx: TranslateContext) {
    this.id = `chatcmpl-${ctx.requestId}`
    this.model = ctx.upstreamModel
  }

  get done(): boolean {
    return this.finished
  }

  push(event: SseEvent): ChatCompletionChunk[] {
    if (this.finished) return []
    let data: StreamEventData
    try {
      data = JSON.parse(event.data) as StreamEventData
    } catch {
      throw malformed(`event ${event.event ?? '(unnamed)'} is not JSON`)
    }
    switch (data.type ?? event.event) {
      case 'message_start':
        return this.onMessageStart(data)
      case 'content_block_start':
        return this.onBlockStart(data)
      case 'content_block_delta':
        return this.onBlockDelta(data)
      case 'message_delta':
        return this.onMessageDelta(data)
      case 'message_stop':
        this.finished = true
        return []
      case 'error': {
        const err = parseAnthropicError(data)
        throw new UpstreamError(
          anthropicErrorInfo(err?.type ?? 'api_error', err?.message ?? 'Anthropic reported an error mid-stream'),
        )
      }
      default:
        // ping, content_block_stop and event types added after this was written.
        return []
    }
  }

  finish(): ChatCompletionChunk[] {
    if (!this.usage) return []
    return [{ id: this.id, object: 'chat.completion.chunk', created: this.ctx.created, model: this.model, choices: [], usage: openaiUsage(this.usage) }]
  }

  private chunk(delta: Delta, finish: FinishReason = null): ChatCompletionChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.ctx.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    }
  }

  private recordUsage(usage: AnthropicUsage | undefined): void {
    if (!usage) return
    // message_delta counts are cumulative; nulls mean "not reported here".
    const merged: AnthropicUsage = { ...this.usage }
    for (const [key, value] of Object.entries(usage)) if (value !== null && value !== undefined) merged[key] = value
    this.usage = merged
  }

  private onMessageStart(data: StreamEventData): ChatCompletionChunk[] {
    const message = data.message
    if (!message) throw malformed('message_start without message')
    if (typeof message.id === 'string') this.id = message.id
    if (typeof message.model === 'string') this.model = message.model
    this.recordUsage(message.usage)
    return [this.chunk({ role: 'assistant', content: '' })]
  }

  private onBlockStart(data: StreamEventData): ChatCompletionChunk[] {
    const block = data.content_block
    if (!block || typeof data.index !== 'number') throw malformed('content_block_start without index or content_block')
    if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') {
      return [this.chunk({ content: block.text })]
    }
    if (block.type !== 'tool_use') return []
    const toolIndex = this.toolIndexByBlock.size
    this.toolIndexByBlock.set(data.index, toolIndex)
    return [
      this.chunk({
        tool_calls: [{ index: toolIndex, id: String(block.id), type: 'function', function: { name: String(block.name), arguments: '' } }],
      }),
    ]
  }

  private onBlockDelta(data: StreamEventData): ChatCompletionChunk[] {
    const delta = data.delta
    if (delta?.type === 'text_delta' && typeof delta.text === 'string') {
      return delta.text === '' ? [] : [this.chunk({ content: delta.text })]
    }
    if (delta?.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
      const toolIndex = typeof data.index === 'number' ? this.toolIndexByBlock.get(data.index) : undefined
      // Server-side tools (server_tool_use) stream their input too; the client never sees those.
      if (toolIndex === undefined || delta.partial_json === '') return []
      return [this.chunk({ tool_calls: [{ index: toolIndex, function: { arguments: delta.partial_json } }] })]
    }
    // thinking_delta, signature_delta, citations_delta: not part of OpenAI's chunk shape.
    return []
  }

  private onMessageDelta(data: StreamEventData): ChatCompletionChunk[] {
    this.recordUsage(data.usage)
    const stopReason = data.delta?.stop_reason
    if (stopReason === null || stopReason === undefined) return []
    return [this.chunk({}, finishReason(stopReason))]
  }
}
