// Prompt token estimation, done before a request is sent upstream (budget and
// context-window pre-checks, cost estimates). Billing itself always uses the
// usage the provider reports; these numbers are estimates.
//
// Two methods:
//
//  - 'tiktoken' for OpenAI-family models (provider type openai/azure/mock, or a
//    model id starting gpt-, o1, o3, o4, chatgpt or text-embedding): every text
//    is tokenized with gpt-tokenizer using the model's encoding (within a work
//    budget: 'tiktoken+estimate' when part of it was estimated, see
//    "Encoders and bounded counting" below), plus OpenAI's
//    published chat overhead (openai-cookbook, "How to count tokens with
//    tiktoken"): each message costs TOKENS_PER_MESSAGE (3) plus the tokens of
//    its role and content, a `name` costs its tokens plus TOKENS_PER_NAME (1),
//    and every reply is primed with REPLY_PRIMING_TOKENS (3).
//
//  - 'approximation' for everything else (Anthropic, Gemini, unknown): the same
//    texts are measured in characters (UTF-16 code units) and converted with
//    ceil(chars / CHARS_PER_TOKEN), CHARS_PER_TOKEN = 4, the usual rule of thumb
//    for English; the same fixed per-message / per-tool overheads are added.
//    Expect it to under-count CJK text and over-count long runs of whitespace.
//
// Shared rules (both methods):
//  - A tool definition costs TOKENS_PER_TOOL_DEFINITION (8) plus the tokens of
//    its compact serialization: name, description and JSON.stringify(parameters)
//    joined with "\n" (absent parts are left out). OpenAI renders tools into a
//    TypeScript-like namespace in the system prompt; 8 tokens roughly covers the
//    per-function wrapping ("type x = (_: {", "}) => any;", newlines) and the
//    compact JSON's extra punctuation stands in for the rest.
//  - A tool call in an assistant message costs TOKENS_PER_TOOL_CALL (3) plus the
//    tokens of its function name and arguments (legacy `function_call` alike).
//    tool_call_id is not counted (it is not part of the rendered prompt text).
//  - response_format json_schema: the JSON of the schema object is counted.
//  - Content parts other than text, refusal and image_url (input_audio, file...)
//    are not counted: their size cannot be derived from the request cheaply.
//  - Images: by provider family, see image-tokens.ts.

import type { ChatCompletionRequest, ChatMessage, EmbeddingsRequest } from '../openai/types.js'
import { imagePartTokens, type ImageFamily } from './image-tokens.js'
import { AS_PLAIN_TEXT, encodingForModel, loadEncoding, type EncodingName, type LoadedEncoding } from './encoders.js'

/** 'tiktoken+estimate': tokenized, but part of the text was estimated (see the encoders section). */
export type TokenCountMethod = 'tiktoken' | 'tiktoken+estimate' | 'approximation'
export interface TokenCount { tokens: number; method: TokenCountMethod }

export const TOKENS_PER_MESSAGE = 3
export const TOKENS_PER_NAME = 1
export const REPLY_PRIMING_TOKENS = 3
export const TOKENS_PER_TOOL_DEFINITION = 8
export const TOKENS_PER_TOOL_CALL = 3
export const CHARS_PER_TOKEN = 4

// ---------------------------------------------------------------------------
// Encoders and bounded counting.
//
// gpt-tokenizer's byte-pair merge is quadratic in the length of one pre-token
// (100,000 identical letters: 4 s), and even ordinary text costs ~0.1-0.4 µs
// per character (~3 µs per byte for text whose words are not in the
// vocabulary). So counting here is bounded, per request and per encoding:
//  - the text is split with the encoding's own pre-token regex; a pre-token
//    that is a single vocabulary entry counts 1 (a map lookup), any other is
//    handed to gpt-tokenizer alone, so its result is exactly the library's;
//  - a pre-token longer than MAX_PIECE_CHARS (a run of letters, digits,
//    spaces or one emoji, CJK text without punctuation...) is cut into pieces
//    of that size, each counted alone: an estimate, close but not exact;
//  - every pre-token costs its length in work units, and one that is not a
//    vocabulary entry MISS_WORK_PER_BYTE more per UTF-8 byte, growing with its
//    length (the merge is what is slow, and quadratic). Past EXACT_WORK_BUDGET units the rest of the request's text is
//    not scanned: its tokens are extrapolated from the tokens per character
//    counted so far (of the same text when enough of it was counted).
// Either shortcut makes the method 'tiktoken+estimate' instead of 'tiktoken'.
// Ordinary prompts (tens of KB of prose or code) are counted exactly; nothing
// up to the body limit costs more than the budget (figures: bench/tokens.ts).

/** Work units one request may spend on exact counting, per encoding: 10-20 ms of CPU here at worst (bench/tokens.ts). */
export const EXACT_WORK_BUDGET = 64 * 1024
/** Extra work units per UTF-8 byte of a pre-token that is not a vocabulary entry (more for long ones). */
export const MISS_WORK_PER_BYTE = 16
/** Longest piece handed to the byte-pair merge at once. */
export const MAX_PIECE_CHARS = 128

/** Work units of merging `bytes` bytes: the merge is quadratic, so long pieces cost more per byte. */
const missWork = (bytes: number): number => MISS_WORK_PER_BYTE * bytes * (1 + bytes / 128)
/** The most one piece can cost (MAX_PIECE_CHARS code units of 3 UTF-8 bytes each): the budget's overshoot. */
export const MAX_PIECE_WORK = MAX_PIECE_CHARS + missWork(3 * MAX_PIECE_CHARS)
/** A text's own tokens-per-character ratio is used for its uncounted rest once this much of it was counted. */
const MIN_CHARS_FOR_OWN_RATIO = 1024
const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff

/** An index near `i` that does not split a surrogate pair. */
function codePointBoundary(s: string, i: number): number {
  return i > 0 && i < s.length && isHighSurrogate(s.charCodeAt(i - 1)) ? i - 1 : i
}

/**
 * Counts texts in one encoding within one work budget; see the section
 * comment. Texts are added in prompt order.
 */
export class BoundedTextCounter {
  private readonly encoding: LoadedEncoding
  private work = 0
  private scanned = 0
  private exactTokens = 0
  private countedChars = 0
  /** Tokens extrapolated from a text's own ratio. */
  private extrapolated = 0
  /** Characters extrapolated at the end from the overall ratio. */
  private uncountedChars = 0
  private estimated = false

  constructor(name: EncodingName, private readonly budget = EXACT_WORK_BUDGET) {
    this.encoding = loadEncoding(name)
  }

  add(text: string): void {
    if (!text) return
    const left = this.budget - this.work
    if (left <= 0) {
      this.uncountedChars += text.length
      this.estimated = true
      return
    }
    // Scanning costs at least a unit per character: never hand the regex more than the budget left.
    const scanned = left < text.length ? text.slice(0, codePointBoundary(text, left)) : text
    this.scanned += scanned.length
    const { split } = this.encoding
    split.lastIndex = 0
    let tokens = 0
    let consumed = 0
    for (let m = split.exec(scanned); m !== null; m = split.exec(scanned)) {
      const pre = m[0]
      if (pre.length === 0) {
        split.lastIndex++
        continue
      }
      tokens += pre.length > MAX_PIECE_CHARS ? this.longRun(pre) : this.piece(pre)
      consumed = split.lastIndex
      if (this.work >= this.budget) break
    }
    this.exactTokens += tokens
    this.countedChars += consumed
    const rest = text.length - consumed
    if (rest > 0) {
      this.estimated = true
      if (consumed >= MIN_CHARS_FOR_OWN_RATIO) this.extrapolated += (rest * tokens) / consumed
      else this.uncountedChars += rest
    }
  }

  /** One pre-token of at most MAX_PIECE_CHARS characters. */
  private piece(p: string): number {
    this.work += p.length
    if (this.encoding.vocab.has(p)) return 1
    this.work += missWork(Buffer.byteLength(p, 'utf8'))
    return this.encoding.enc.countTokens(p, AS_PLAIN_TEXT)
  }

  /** A pre-token too long for one merge: counted in pieces, until the budget runs out. */
  private longRun(run: string): number {
    this.estimated = true
    let tokens = 0
    for (let i = 0; i < run.length && this.work < this.budget; ) {
      const end = codePointBoundary(run, Math.min(run.length, i + MAX_PIECE_CHARS))
      const next = end > i ? end : i + 2 // a lone pair straddling the cut
      tokens += this.piece(run.slice(i, next))
      i = next
      if (this.work >= this.budget && i < run.length) {
        // The rest of this run is extrapolated from its pieces, not from ordinary text.
        tokens += ((run.length - i) * tokens) / i
        break
      }
    }
    return tokens
  }

  /** What counting cost so far: work units (see EXACT_WORK_BUDGET) and characters handed to the regex. */
  get spent(): { work: number; scannedChars: number } {
    return { work: this.work, scannedChars: this.scanned }
  }

  result(): { tokens: number; estimated: boolean } {
    const ratio = this.countedChars > 0 ? this.exactTokens / this.countedChars : 1 / CHARS_PER_TOKEN
    const tokens = this.exactTokens + this.extrapolated + this.uncountedChars * ratio
    return { tokens: Math.ceil(tokens), estimated: this.estimated }
  }
}

/** Tokens of `text` in `encoding`, special tokens counted as plain text; bounded like a prompt. */
export function countTextTokens(text: string, encoding: EncodingName): number {
  if (!text) return 0
  const counter = new BoundedTextCounter(encoding)
  counter.add(text)
  return counter.result().tokens
}

// ---------------------------------------------------------------------------
// Model classification

const OPENAI_PROVIDER_TYPES = new Set(['openai', 'azure', 'mock'])
const OPENAI_MODEL_ID = /^(?:ft:)?(?:gpt-|o1|o3|o4|chatgpt|text-embedding)/i

export function isOpenAIFamily(providerType: string | undefined, model: string): boolean {
  return (providerType !== undefined && OPENAI_PROVIDER_TYPES.has(providerType)) || OPENAI_MODEL_ID.test(model)
}


// ---------------------------------------------------------------------------
// Prompt walk, shared by both methods.

interface Tally {
  /** Adds a piece of prompt text. */
  text(s: string): void
  /** Adds a fixed number of tokens (overheads, images). */
  fixed(n: number): void
}

/** Collects the prompt's texts (counted afterwards, once per encoding) and its fixed tokens. */
function collect(): Tally & { texts: string[]; fixedTokens: number } {
  const t = {
    texts: [] as string[],
    fixedTokens: 0,
    text: (s: string) => { if (s) t.texts.push(s) },
    fixed: (n: number) => { t.fixedTokens += n },
  }
  return t
}

// One request's body is counted by the planner, the limits and estimate-cost
// (once per candidate): the text part is memoized per body and encoding.
const textCounts = new WeakMap<object, Map<EncodingName, { tokens: number; estimated: boolean }>>()

function countTexts(key: object, texts: string[], encoding: EncodingName): { tokens: number; estimated: boolean } {
  let byEncoding = textCounts.get(key)
  const cached = byEncoding?.get(encoding)
  if (cached) return cached
  const counter = new BoundedTextCounter(encoding)
  for (const t of texts) counter.add(t)
  const result = counter.result()
  if (!byEncoding) textCounts.set(key, (byEncoding = new Map()))
  byEncoding.set(encoding, result)
  return result
}

const approxTokens = (texts: string[]): number => {
  let chars = 0
  for (const t of texts) chars += t.length
  return Math.ceil(chars / CHARS_PER_TOKEN)
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')

/** Compact serialization of a tool definition: name, description, parameters JSON. */
export function serializeToolDefinition(tool: unknown): string {
  const t = tool as { function?: { name?: unknown; description?: unknown; parameters?: unknown } } | null
  const fn = t?.function
  if (!fn || typeof fn !== 'object') return JSON.stringify(tool) ?? ''
  const parts = [str(fn.name), str(fn.description)]
  if (fn.parameters !== undefined) parts.push(JSON.stringify(fn.parameters) ?? '')
  return parts.filter(Boolean).join('\n')
}

function addToolCall(tally: Tally, fn: unknown): void {
  const f = fn as { name?: unknown; arguments?: unknown } | null | undefined
  tally.fixed(TOKENS_PER_TOOL_CALL)
  tally.text(str(f?.name))
  tally.text(str(f?.arguments))
}

function addMessage(tally: Tally, msg: ChatMessage, family: ImageFamily, model: string): void {
  tally.fixed(TOKENS_PER_MESSAGE)
  tally.text(str(msg.role))
  const content = msg.content
  if (typeof content === 'string') tally.text(content)
  else if (Array.isArray(content)) {
    for (const part of content as Array<Record<string, unknown> | null>) {
      if (!part || typeof part !== 'object') continue
      if (part.type === 'text') tally.text(str(part.text))
      else if (part.type === 'refusal') tally.text(str(part.refusal))
      else if (part.type === 'image_url') tally.fixed(imagePartTokens(family, model, part.image_url))
    }
  }
  if (typeof msg.name === 'string' && msg.name) {
    tally.text(msg.name)
    tally.fixed(TOKENS_PER_NAME)
  }
  if (Array.isArray(msg.tool_calls)) for (const call of msg.tool_calls) addToolCall(tally, call?.function)
  if (msg.function_call && typeof msg.function_call === 'object') addToolCall(tally, msg.function_call)
}

/**
 * Estimated prompt tokens of a chat request sent to `upstreamModel` on a
 * provider of type `providerType`. See the header comment for the rules.
 */
export function countPromptTokens(body: ChatCompletionRequest, providerType: string, upstreamModel: string): TokenCount {
  const openai = isOpenAIFamily(providerType, upstreamModel)
  const family: ImageFamily = openai ? 'openai' : providerType === 'anthropic' ? 'anthropic' : providerType === 'gemini' ? 'gemini' : 'openai'
  const tally = collect()

  const messages = Array.isArray(body.messages) ? body.messages : []
  for (const msg of messages) if (msg && typeof msg === 'object') addMessage(tally, msg, family, upstreamModel)
  tally.fixed(REPLY_PRIMING_TOKENS)

  const tools = [
    ...(Array.isArray(body.tools) ? body.tools : []),
    ...(Array.isArray(body.functions) ? (body.functions as unknown[]).map((f) => ({ type: 'function', function: f })) : []),
  ]
  for (const tool of tools) {
    tally.fixed(TOKENS_PER_TOOL_DEFINITION)
    tally.text(serializeToolDefinition(tool))
  }

  const rf = body.response_format
  if (rf && rf.type === 'json_schema' && rf.json_schema !== undefined) tally.text(JSON.stringify(rf.json_schema) ?? '')

  if (!openai) return { tokens: tally.fixedTokens + approxTokens(tally.texts), method: 'approximation' }
  const text = countTexts(body, tally.texts, encodingForModel(upstreamModel))
  return { tokens: tally.fixedTokens + text.tokens, method: text.estimated ? 'tiktoken+estimate' : 'tiktoken' }
}

/**
 * Input tokens of an embeddings request. Token-id arrays count one per id;
 * strings are tokenized (bounded, as for prompts) for OpenAI-family models and
 * approximated otherwise.
 */
export function countEmbeddingInputTokens(input: EmbeddingsRequest['input'], model: string, providerType?: string): TokenCount {
  const openai = isOpenAIFamily(providerType, model)
  const texts: string[] = []
  let ids = 0
  if (typeof input === 'string') texts.push(input)
  else if (Array.isArray(input)) {
    for (const item of input as unknown[]) {
      if (typeof item === 'string') texts.push(item)
      else if (typeof item === 'number') ids++ // a single token-id array: number[]
      else if (Array.isArray(item)) ids += item.length // number[][]
    }
  }
  if (!openai) return { tokens: texts.reduce((n, t) => n + Math.ceil(t.length / CHARS_PER_TOKEN), ids), method: 'approximation' }
  if (texts.length === 0) return { tokens: ids, method: 'tiktoken' }
  const counter = new BoundedTextCounter(encodingForModel(model))
  for (const t of texts) counter.add(t)
  const text = counter.result()
  return { tokens: text.tokens + ids, method: text.estimated ? 'tiktoken+estimate' : 'tiktoken' }
}
