// The built-in `mock` provider answers in-process so a newcomer can try the
// gateway with no provider key. Answers are deterministic functions of the
// request, which also makes them useful in demos and tests.
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ContentPart, EmbeddingsRequest, Usage } from '../../openai/types.js'
import type { LocalBackend, ProviderAdapter, TranslateContext } from '../types.js'

function text(content: ChatCompletionRequest['messages'][number]['content']): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .filter((p): p is ContentPart & { type: 'text'; text: string } => p.type === 'text' && typeof (p as { text?: unknown }).text === 'string')
    .map((p) => p.text)
    .join(' ')
}

const approxTokens = (s: string) => Math.max(1, Math.ceil(s.length / 4))

function plan(body: ChatCompletionRequest, ctx: TranslateContext) {
  const messages = Array.isArray(body.messages) ? body.messages : []
  const last = [...messages].reverse().find((m) => m.role === 'user')
  const prompt = messages.map((m) => text(m.content)).join('\n')
  const lastMessage = messages[messages.length - 1]
  const wantsTool =
    Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice !== 'none' && lastMessage?.role === 'user'
  const limit = body.max_completion_tokens ?? body.max_tokens ?? undefined
  let reply = `Mock response from Switchyard (${ctx.upstreamModel}) to: ${text(last?.content).slice(0, 200)}`
  let finish: 'stop' | 'length' | 'tool_calls' = 'stop'
  const words = reply.split(/(?<= )/)
  if (limit !== undefined && limit !== null && words.length > limit) {
    reply = words.slice(0, Math.max(0, limit)).join('')
    finish = 'length'
  }
  const toolCall = wantsTool
    ? { id: `call_${ctx.requestId}`, type: 'function' as const, function: { name: body.tools![0]!.function.name, arguments: '{}' } }
    : undefined
  if (toolCall) finish = 'tool_calls'
  const completionTokens = toolCall ? 8 : Math.min(words.length, limit ?? Infinity)
  const usage: Usage = {
    prompt_tokens: approxTokens(prompt),
    completion_tokens: completionTokens,
    total_tokens: approxTokens(prompt) + completionTokens,
  }
  return { reply: toolCall ? null : reply, toolCall, finish, usage, words: toolCall ? [] : reply.split(/(?<= )/) }
}

export const mockBackend: LocalBackend = {
  chat(body, ctx): ChatCompletion {
    const p = plan(body, ctx)
    return {
      id: `chatcmpl-${ctx.requestId}`,
      object: 'chat.completion',
      created: ctx.created,
      model: ctx.upstreamModel,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: p.reply, ...(p.toolCall ? { tool_calls: [p.toolCall] } : {}) },
          finish_reason: p.finish,
          logprobs: null,
        },
      ],
      usage: p.usage,
    }
  },
  chatStream(body, ctx): ChatCompletionChunk[] {
    const p = plan(body, ctx)
    const base = { id: `chatcmpl-${ctx.requestId}`, object: 'chat.completion.chunk' as const, created: ctx.created, model: ctx.upstreamModel }
    const chunks: ChatCompletionChunk[] = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }]
    for (const w of p.words) chunks.push({ ...base, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })
    if (p.toolCall) {
      chunks.push({
        ...base,
        choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...p.toolCall }] }, finish_reason: null }],
      })
    }
    chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: p.finish }] })
    chunks.push({ ...base, choices: [], usage: p.usage })
    return chunks
  },
  embeddings(body: EmbeddingsRequest, ctx) {
    const inputs = Array.isArray(body.input) ? body.input : [body.input]
    const dims = body.dimensions ?? 8
    let tokens = 0
    const data = inputs.map((input, index) => {
      const s = typeof input === 'string' ? input : JSON.stringify(input)
      tokens += approxTokens(s)
      // A cheap deterministic vector: character codes folded into `dims` buckets.
      const v = new Array<number>(dims).fill(0)
      for (let i = 0; i < s.length; i++) v[i % dims]! += s.charCodeAt(i) / 1000
      const norm = Math.hypot(...v) || 1
      return { object: 'embedding' as const, index, embedding: v.map((x) => x / norm) }
    })
    return { object: 'list', data, model: ctx.upstreamModel, usage: { prompt_tokens: tokens, total_tokens: tokens } }
  },
}

export const mock: ProviderAdapter = {
  type: 'mock',
  local: mockBackend,
  endpoint() {
    throw new Error('the mock provider is served in-process')
  },
  error(status, body) {
    return { status, type: 'server_error', code: null, message: body }
  },
}
