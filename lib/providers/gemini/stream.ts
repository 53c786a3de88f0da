// streamGenerateContent?alt=sse -> OpenAI chat.completion.chunk. Every `data:`
// is a complete GenerateContentResponse holding only the new parts, so each
// event maps to chunks on its own; function calls always arrive whole.
import type { ChatCompletionChunk, FinishReason, ToolCallDelta, Usage } from '../../openai/types.js'
import type { SseEvent } from '../../sse.js'
import type { StreamTranslator, TranslateContext } from '../types.js'
import { UpstreamError } from '../types.js'
import { geminiErrorInfo, type GeminiErrorObject } from './errors.js'
import { asResponse, finishReason, splitParts, toolCallId, toUsage } from './response.js'

type Choice = ChatCompletionChunk['choices'][number]

export class GeminiStreamTranslator implements StreamTranslator {
  private model: string
  private usage: Usage | undefined
  /** Tool calls seen per choice index (for delta indexes and the tool_calls finish). */
  private readonly toolCalls = new Map<number, number>()
  private readonly started = new Set<number>()
  private readonly finished = new Set<number>()
  private nextCallId = 0
  private _done = false

  constructor(private readonly ctx: TranslateContext) {
    this.model = ctx.upstreamModel
  }

  get done(): boolean {
    return this._done
  }

  push(event: SseEvent): ChatCompletionChunk[] {
    const data = event.data.trim()
    if (data === '') return []
    let parsed: unknown
    try {
      parsed = JSON.parse(data)
    } catch {
      throw new UpstreamError({ status: 502, type: 'upstream_error', code: null, message: 'gemini sent a malformed stream event' })
    }
    const res = asResponse(parsed)
    if (res.error && typeof res.error === 'object') {
      const err = res.error as GeminiErrorObject
      throw new UpstreamError(geminiErrorInfo(err, typeof err.code === 'number' ? err.code : 500))
    }
    if (res.modelVersion) this.model = res.modelVersion
    if (res.usageMetadata) this.usage = toUsage(res.usageMetadata)

    const out: ChatCompletionChunk[] = []
    const candidates = Array.isArray(res.candidates) ? res.candidates : []
    if (candidates.length === 0 && res.promptFeedback?.blockReason) {
      this.start(0, out)
      out.push(this.chunk({ index: 0, delta: {}, finish_reason: 'content_filter', logprobs: null }))
      this.finished.add(0)
    }
    candidates.forEach((c, position) => {
      const index = c.index ?? position
      this.start(index, out)
      const { text, calls } = splitParts(c.content?.parts)
      if (text) out.push(this.chunk({ index, delta: { content: text }, finish_reason: null, logprobs: null }))
      if (calls.length > 0) {
        const seen = this.toolCalls.get(index) ?? 0
        const deltas: ToolCallDelta[] = calls.map((call, k) => ({
          index: seen + k,
          id: toolCallId(this.ctx, this.nextCallId++),
          type: 'function',
          function: { name: call.name, arguments: JSON.stringify(call.args) },
        }))
        this.toolCalls.set(index, seen + calls.length)
        out.push(this.chunk({ index, delta: { tool_calls: deltas }, finish_reason: null, logprobs: null }))
      }
      if (c.finishReason && !this.finished.has(index)) {
        const reason: FinishReason = finishReason(c.finishReason, (this.toolCalls.get(index) ?? 0) > 0)
        out.push(this.chunk({ index, delta: {}, finish_reason: reason, logprobs: null }))
        this.finished.add(index)
      }
    })
    // With n > 1 every started choice must finish before the message is over.
    this._done = this.finished.size > 0 && [...this.started].every((i) => this.finished.has(i))
    return out
  }

  finish(): ChatCompletionChunk[] {
    return this.usage ? [{ ...this.base(), choices: [], usage: this.usage }] : []
  }

  private start(index: number, out: ChatCompletionChunk[]): void {
    if (this.started.has(index)) return
    this.started.add(index)
    out.push(this.chunk({ index, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }))
  }

  private base() {
    return { id: `chatcmpl-${this.ctx.requestId}`, object: 'chat.completion.chunk' as const, created: this.ctx.created, model: this.model }
  }

  private chunk(choice: Choice): ChatCompletionChunk {
    return { ...this.base(), choices: [choice] }
  }
}
