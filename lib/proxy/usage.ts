// Where a request's token figures come from: the upstream's usage, made safe
// for integer columns and arithmetic, or, when the upstream gave none (a
// stream cut or abandoned before its usage chunk, a server that never sends
// one), the gateway's estimate: the prompt as counted before the call plus
// the completion text actually relayed to the client.
import type { ChatCompletionRequest, EmbeddingsRequest, Usage } from '../openai/types.js'
import type { DeploymentEntry } from '../routing/table.js'
import {
  CHARS_PER_TOKEN,
  countEmbeddingInputTokens,
  countPromptTokens,
  countTextTokens,
  isOpenAIFamily,
} from '../cost/tokens.js'
import { encodingForModel } from '../cost/encoders.js'

/** Where a request's token figures come from; 'none' when it has none (it failed before any answer). */
export type UsageSource = 'upstream' | 'estimate' | 'none'

/** Largest count stored: Postgres INTEGER is 32-bit. */
export const MAX_TOKEN_COUNT = 2_147_483_647

/**
 * A token count as a sane integer: numbers and numeric strings are rounded
 * and capped at MAX_TOKEN_COUNT; negative, NaN, infinite or non-numeric
 * values are 0. Upstreams have sent 1.5, "12" and "x".
 */
export function tokenCount(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN
  if (!Number.isFinite(n) || n <= 0) return 0
  return Math.min(MAX_TOKEN_COUNT, Math.round(n))
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function details<K extends string>(v: unknown, keys: readonly K[]): Record<string, unknown> | undefined {
  if (!isObject(v)) return undefined
  const out: Record<string, unknown> = { ...v }
  for (const k of keys) if (k in out) out[k] = tokenCount(out[k])
  return out
}

/**
 * The upstream's usage with every count the gateway reads made a sane
 * integer; other fields pass through. Undefined when it is not an object.
 */
export function sanitizeUsage(u: unknown): Usage | undefined {
  if (!isObject(u)) return undefined
  const prompt = tokenCount(u.prompt_tokens)
  const completion = tokenCount(u.completion_tokens)
  const out: Usage = {
    ...u,
    prompt_tokens: prompt,
    completion_tokens: completion,
    // Never below its parts: TPM counts the total.
    total_tokens: Math.min(MAX_TOKEN_COUNT, Math.max(tokenCount(u.total_tokens), prompt + completion)),
  }
  const pd = details(u.prompt_tokens_details, ['cached_tokens', 'cache_write_tokens'] as const)
  if (pd) out.prompt_tokens_details = pd
  else delete out.prompt_tokens_details
  const cd = details(u.completion_tokens_details, ['reasoning_tokens'] as const)
  if (cd) out.completion_tokens_details = cd
  else delete out.completion_tokens_details
  return out
}

/** Counts text the way the deployment's provider is estimated to: its tokenizer, or 4 characters a token. */
export function textTokenCounter(d: Pick<DeploymentEntry, 'providerType' | 'upstreamModel'>): (text: string) => number {
  if (isOpenAIFamily(d.providerType, d.upstreamModel)) {
    const encoding = encodingForModel(d.upstreamModel)
    return (text) => countTextTokens(text, encoding)
  }
  return (text) => Math.ceil(text.length / CHARS_PER_TOKEN)
}

/** Pending text is counted in pieces of about this many characters, so memory stays flat on long streams. */
const PIECE_CHARS = 16 * 1024

/**
 * The completion text relayed to a client, counted as it goes: content,
 * reasoning, refusals, tool-call names and arguments. Text is tokenized in
 * pieces cut at whitespace, so a long stream never holds its whole answer.
 */
export class CompletionTally {
  private pending = ''
  private counted = 0
  /** Something was relayed (even an empty delta). */
  chunks = 0

  constructor(private readonly count: (text: string) => number) {}

  private add(text: unknown): void {
    if (typeof text !== 'string' || text.length === 0) return
    this.pending += text
    if (this.pending.length >= PIECE_CHARS) {
      const cut = Math.max(this.pending.lastIndexOf(' '), this.pending.lastIndexOf('\n'))
      const at = cut > PIECE_CHARS / 2 ? cut : this.pending.length
      this.counted += this.count(this.pending.slice(0, at))
      this.pending = this.pending.slice(at)
    }
  }

  private addCalls(calls: unknown): void {
    if (!Array.isArray(calls)) return
    for (const call of calls) {
      const fn = isObject(call) ? call.function : undefined
      if (!isObject(fn)) continue
      this.add(fn.name)
      this.add(fn.arguments)
    }
  }

  /** The text parts of one message or delta (OpenAI shape, with the common reasoning fields). */
  private addMessage(m: unknown): void {
    if (!isObject(m)) return
    this.add(m.content)
    this.add(m.reasoning_content)
    this.add(m.reasoning)
    this.add(m.refusal)
    this.addCalls(m.tool_calls)
    if (isObject(m.function_call)) {
      this.add(m.function_call.name)
      this.add(m.function_call.arguments)
    }
  }

  /** One chat.completion.chunk as relayed. */
  addChunk(chunk: unknown): void {
    if (!isObject(chunk) || !Array.isArray(chunk.choices)) return
    this.chunks++
    for (const choice of chunk.choices) if (isObject(choice)) this.addMessage(choice.delta)
  }

  /** A whole chat.completion (non-streamed). */
  addCompletion(body: unknown): void {
    if (!isObject(body) || !Array.isArray(body.choices)) return
    for (const choice of body.choices) if (isObject(choice)) this.addMessage(choice.message)
  }

  /** Tokens of everything added so far. */
  tokens(): number {
    if (this.pending) {
      this.counted += this.count(this.pending)
      this.pending = ''
    }
    return this.counted
  }
}

/** Estimated prompt tokens of a request on a deployment, as counted before the call. */
export function estimatePromptTokens(body: ChatCompletionRequest | EmbeddingsRequest, d: Pick<DeploymentEntry, 'providerType' | 'upstreamModel'>): number {
  const chat = Array.isArray((body as ChatCompletionRequest).messages)
  return chat
    ? countPromptTokens(body as ChatCompletionRequest, d.providerType, d.upstreamModel).tokens
    : countEmbeddingInputTokens((body as EmbeddingsRequest).input, d.upstreamModel, d.providerType).tokens
}

/** A usage the gateway made up: the estimated prompt plus the completion it relayed. */
export function estimatedUsage(promptTokens: number, completionTokens: number): Usage {
  const prompt = tokenCount(promptTokens)
  const completion = tokenCount(completionTokens)
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: Math.min(MAX_TOKEN_COUNT, prompt + completion) }
}
