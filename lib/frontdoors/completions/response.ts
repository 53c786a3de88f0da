// Canonical chat completion (and its chunks) -> legacy text_completion.
import type { ChatCompletion, ChatCompletionChunk, FinishReason } from '../../openai/types.js'
import { SSE_DONE, sseData } from '../../sse.js'
import { randomIds, type IdGenerator } from '../ids.js'
import { isObject, type GatewayErrorLike } from '../shared.js'
import type { CompletionsContext } from './request.js'
import type { Completion, CompletionChoice, CompletionFinishReason, CompletionLogprobs } from './types.js'

export interface CompletionsResponseContext extends CompletionsContext {
  id?: string
  ids?: IdGenerator
}

interface ChatTokenLogprob {
  token: string
  logprob: number
  top_logprobs?: Array<{ token: string; logprob: number }>
}

export function completionFinishReason(finish: FinishReason | string | null | undefined): CompletionFinishReason {
  if (finish === null || finish === undefined) return null
  if (finish === 'length' || finish === 'content_filter') return finish
  return 'stop'
}

/** Chat logprobs.content -> the legacy parallel arrays; offsets count from `offset`. */
export function completionLogprobs(chatLogprobs: unknown, top: number | null, offset: number): CompletionLogprobs {
  const content = isObject(chatLogprobs) && Array.isArray(chatLogprobs.content) ? (chatLogprobs.content as ChatTokenLogprob[]) : []
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: top ? [] : null, text_offset: [] }
  let at = offset
  for (const t of content) {
    out.tokens.push(t.token)
    out.token_logprobs.push(t.logprob)
    out.text_offset.push(at)
    at += t.token.length
    out.top_logprobs?.push(Object.fromEntries((t.top_logprobs ?? []).slice(0, top ?? 0).map((x) => [x.token, x.logprob])))
  }
  return out
}

export function chatToCompletion(chat: ChatCompletion, ctx: CompletionsResponseContext): Completion {
  const echo = ctx.echo ?? ''
  const choices: CompletionChoice[] = (chat.choices ?? []).map((c) => ({
    text: echo + (typeof c.message?.content === 'string' ? c.message.content : ''),
    index: c.index,
    logprobs: ctx.logprobs !== null ? completionLogprobs(c.logprobs, ctx.logprobs, echo.length) : null,
    finish_reason: completionFinishReason(c.finish_reason),
  }))
  const completion: Completion = {
    id: ctx.id ?? (ctx.ids ?? randomIds)('cmpl-'),
    object: 'text_completion',
    created: chat.created,
    model: ctx.model,
    choices,
  }
  if (chat.usage) completion.usage = chat.usage
  if (chat.system_fingerprint !== undefined) completion.system_fingerprint = chat.system_fingerprint
  return completion
}

/** chat.completion.chunk stream -> text_completion chunks (`data:` SSE, `[DONE]` last). */
export class CompletionsStreamTranslator {
  private readonly id: string
  private readonly offsets = new Map<number, number>()
  private usage: ChatCompletionChunk['usage']
  private created = Math.floor(Date.now() / 1000)
  private ended = false

  constructor(private readonly ctx: CompletionsResponseContext) {
    this.id = ctx.id ?? (ctx.ids ?? randomIds)('cmpl-')
  }

  push(chunk: ChatCompletionChunk): string {
    if (this.ended) return ''
    this.created = chunk.created ?? this.created
    if (chunk.usage) this.usage = chunk.usage
    let out = ''
    for (const c of chunk.choices ?? []) {
      // The echoed prompt opens each choice's text.
      const echo = this.offsets.has(c.index) ? '' : (this.ctx.echo ?? '')
      const before = this.offsets.get(c.index) ?? 0
      const text = echo + (typeof c.delta?.content === 'string' ? c.delta.content : '')
      const finish = completionFinishReason(c.finish_reason)
      const logprobs = this.ctx.logprobs !== null ? completionLogprobs(c.logprobs, this.ctx.logprobs, before + echo.length) : null
      this.offsets.set(c.index, before + text.length)
      if (text === '' && finish === null && (logprobs === null || logprobs.tokens.length === 0)) continue
      out += sseData(this.chunk([{ text, index: c.index, logprobs, finish_reason: finish }]))
    }
    return out
  }

  /** The usage chunk when the client asked for it (`usage` when the stream carried none), then [DONE]. */
  finish(usage?: ChatCompletionChunk['usage']): string {
    if (this.ended) return ''
    this.ended = true
    const final = this.usage ?? usage
    const tail = this.ctx.includeUsage && final ? sseData({ ...this.chunk([]), usage: final }) : ''
    return tail + SSE_DONE
  }

  /** OpenAI's in-stream error event; the stream ends there. */
  error(err: GatewayErrorLike): string {
    if (this.ended) return ''
    this.ended = true
    return sseData({ error: { message: err.message, type: err.type, param: null, code: err.code } })
  }

  private chunk(choices: CompletionChoice[]): Completion {
    return { id: this.id, object: 'text_completion', created: this.created, model: this.ctx.model, choices }
  }
}
