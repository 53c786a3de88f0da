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
//
// Images. The gateway does not download images, so a remote image is assumed to
// be DEFAULT_IMAGE_WIDTH x DEFAULT_IMAGE_HEIGHT (1024 x 1024). For base64 data
// URLs the real size is read from the PNG / GIF / JPEG / WebP header.
//  - OpenAI (documented tile rule): detail "low" costs the base (85 tokens).
//    "high"/"auto": scale to fit in 2048 x 2048, then down so the shortest side
//    is 768, count 512 px tiles; cost = base + tile * tiles = 85 + 170 * tiles.
//    1024 x 1024 -> 768 x 768 -> 4 tiles -> 765 tokens. gpt-4o-mini uses the
//    same rule with OpenAI's documented base 2833 / tile 5667.
//  - Anthropic (documented): tokens = ceil(width * height / 750), at most 1600
//    (larger images are downscaled by the API). 1024 x 1024 -> ceil(1398.1) = 1399.
//  - Gemini (documented): 258 tokens per image.

import { createRequire } from 'node:module'
import type { ChatCompletionRequest, ChatMessage, EmbeddingsRequest } from '../openai/types.js'

/** 'tiktoken+estimate': tokenized, but part of the text was estimated (see the encoders section). */
export type TokenCountMethod = 'tiktoken' | 'tiktoken+estimate' | 'approximation'
export interface TokenCount { tokens: number; method: TokenCountMethod }
export type EncodingName = 'o200k_base' | 'cl100k_base'
export type ImageFamily = 'openai' | 'anthropic' | 'gemini'
export type ImageDetail = 'low' | 'high' | 'auto'

export const TOKENS_PER_MESSAGE = 3
export const TOKENS_PER_NAME = 1
export const REPLY_PRIMING_TOKENS = 3
export const TOKENS_PER_TOOL_DEFINITION = 8
export const TOKENS_PER_TOOL_CALL = 3
export const CHARS_PER_TOKEN = 4

export const DEFAULT_IMAGE_WIDTH = 1024
export const DEFAULT_IMAGE_HEIGHT = 1024
export const ANTHROPIC_PIXELS_PER_TOKEN = 750
export const ANTHROPIC_MAX_IMAGE_TOKENS = 1600
export const GEMINI_IMAGE_TOKENS = 258

const OPENAI_IMAGE_COST = { base: 85, tile: 170 } as const
const OPENAI_MINI_IMAGE_COST = { base: 2833, tile: 5667 } as const

// ---------------------------------------------------------------------------
// Encoders and bounded counting.
//
// gpt-tokenizer's byte-pair merge is quadratic in the length of one pre-token
// (100,000 identical letters: 4 s), and even ordinary text costs ~0.1-0.4 µs
// per character (~3 µs per byte for text whose words are not in the
// vocabulary). So counting here is bounded, per request and per encoding:
//  - the text is split with the encoding's own pre-token regex; a pre-token
//    that is a single vocabulary entry counts 1 (a Set lookup), any other is
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

type Encoder = typeof import('gpt-tokenizer/encoding/o200k_base')
const requireCjs = createRequire(import.meta.url)

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
/** Merge results gpt-tokenizer caches per encoding (its default, 100,000, lets clients pin ~50 MB). */
const MERGE_CACHE_SIZE = 10_000

interface LoadedEncoding {
  enc: Encoder
  /** Every vocabulary entry that is valid text: a pre-token found here is one token. */
  vocab: { has(text: string): boolean }
  /** The encoding's pre-token regex (own instance: lastIndex is state). */
  split: RegExp
}

const encodings = new Map<EncodingName, LoadedEncoding>()
// User text is data, not control: "<|endoftext|>" is counted as plain text
// instead of throwing (gpt-tokenizer disallows special tokens by default).
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() }
const SPLIT_REGEX_EXPORT: Record<EncodingName, string> = { o200k_base: 'O200K_TOKEN_SPLIT_REGEX', cl100k_base: 'CL100K_TOKEN_SPLIT_REGEX' }

// The CommonJS build is required so that counting stays synchronous.
function loadEncoding(name: EncodingName): LoadedEncoding {
  let loaded = encodings.get(name)
  if (!loaded) {
    const enc = requireCjs(`gpt-tokenizer/encoding/${name}`) as Encoder
    enc.setMergeCacheSize(MERGE_CACHE_SIZE)
    const vocab = encoderVocabulary(enc) ?? vocabularySet(name)
    const regex = (requireCjs('gpt-tokenizer/encodingParams/constants') as Record<string, RegExp>)[SPLIT_REGEX_EXPORT[name]]!
    loaded = { enc, vocab, split: new RegExp(regex.source, regex.flags) }
    encodings.set(name, loaded)
  }
  return loaded
}

/**
 * The encoder's own map of text entries to ranks (gpt-tokenizer's
 * BytePairEncodingCore), so the vocabulary is not held twice (~5 MB for
 * o200k_base); undefined if a version of the library no longer has it.
 */
function encoderVocabulary(enc: Encoder): LoadedEncoding['vocab'] | undefined {
  const core = (enc.default as unknown as { bytePairEncodingCoreProcessor?: { getBpeRankFromString?: (text: string) => number | undefined } }).bytePairEncodingCoreProcessor
  const rankOf = core?.getBpeRankFromString
  if (typeof rankOf !== 'function') return undefined
  return { has: (text) => rankOf.call(core, text) !== undefined }
}

/** The text entries of an encoding's ranks, as a set of our own. */
export function vocabularySet(name: EncodingName): Set<string> {
  const ranks = (requireCjs(`gpt-tokenizer/bpeRanks/${name}`) as { default: Array<string | number[] | undefined> }).default
  const vocab = new Set<string>()
  for (const entry of ranks) if (typeof entry === 'string') vocab.add(entry)
  return vocab
}

/** Whether a pre-token is one entry of the encoding's vocabulary (as counting sees it). */
export function inVocabulary(name: EncodingName, text: string): boolean {
  return loadEncoding(name).vocab.has(text)
}

/**
 * Loads encoders now (at start-up) instead of on the first request that
 * needs one: ~0.3 s of CPU and 15-30 MB of memory each. The gateway warms
 * o200k_base and the encodings of its configured deployments' models
 * (encodingsFor); another is loaded on first use.
 */
export function warmTokenizers(names: EncodingName[] = ['o200k_base', 'cl100k_base']): void {
  for (const n of names) loadEncoding(n).enc.countTokens('warm up', AS_PLAIN_TEXT)
}

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

/**
 * cl100k_base for gpt-4 / gpt-4-turbo / gpt-3.5 / text-embedding-3 / text-embedding-ada-002;
 * o200k_base for gpt-4o, gpt-4.1, gpt-4.5, gpt-5, the o-series and anything
 * unrecognised (e.g. an Azure deployment name), being the current encoding.
 */
export function encodingForModel(model: string): EncodingName {
  const m = model.toLowerCase().replace(/^ft:/, '')
  if (/^(?:gpt-4o|gpt-4\.|chatgpt-4o)/.test(m)) return 'o200k_base'
  if (/^(?:gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada)/.test(m)) return 'cl100k_base'
  return 'o200k_base'
}

/** The encodings a gateway counts with for these upstream models: o200k_base (the default) and any others they need. */
export function encodingsFor(models: Iterable<string>): EncodingName[] {
  const names = new Set<EncodingName>(['o200k_base'])
  for (const m of models) names.add(encodingForModel(m))
  return [...names]
}

// ---------------------------------------------------------------------------
// Images

/** OpenAI's tile rule. */
export function openAIImageTokens(width: number, height: number, detail: ImageDetail = 'auto', model = ''): number {
  const cost = /^gpt-4o-mini/i.test(model) ? OPENAI_MINI_IMAGE_COST : OPENAI_IMAGE_COST
  if (detail === 'low') return cost.base
  let w = width
  let h = height
  if (!(w > 0 && h > 0)) {
    w = DEFAULT_IMAGE_WIDTH
    h = DEFAULT_IMAGE_HEIGHT
  }
  if (w > 2048 || h > 2048) {
    const s = 2048 / Math.max(w, h)
    w = Math.round(w * s)
    h = Math.round(h * s)
  }
  if (Math.min(w, h) > 768) {
    const s = 768 / Math.min(w, h)
    w = Math.round(w * s)
    h = Math.round(h * s)
  }
  return cost.base + cost.tile * Math.ceil(w / 512) * Math.ceil(h / 512)
}

/** Anthropic: ceil(w * h / 750), capped at 1600. */
export function anthropicImageTokens(width: number, height: number): number {
  const px = width > 0 && height > 0 ? width * height : DEFAULT_IMAGE_WIDTH * DEFAULT_IMAGE_HEIGHT
  return Math.min(ANTHROPIC_MAX_IMAGE_TOKENS, Math.ceil(px / ANTHROPIC_PIXELS_PER_TOKEN))
}

// Enough of the base64 payload to reach a JPEG frame header behind typical
// EXIF / ICC segments; a multiple of 4 so it decodes cleanly.
const SNIFF_BASE64_CHARS = 96 * 1024

/** Width and height from a base64 data URL's image header, when recognisable. */
export function dataUrlImageSize(url: string): { width: number; height: number } | undefined {
  if (!url.startsWith('data:')) return undefined
  const comma = url.indexOf(',')
  if (comma < 0 || !url.slice(0, comma).toLowerCase().endsWith(';base64')) return undefined
  const b = Buffer.from(url.slice(comma + 1, comma + 1 + SNIFF_BASE64_CHARS), 'base64')
  return imageSize(b)
}

function imageSize(b: Buffer): { width: number; height: number } | undefined {
  // PNG: signature, then the IHDR chunk's width/height.
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR')
    return ok(b.readUInt32BE(16), b.readUInt32BE(20))
  // GIF: logical screen size, little-endian.
  if (b.length >= 10 && b.toString('latin1', 0, 4) === 'GIF8') return ok(b.readUInt16LE(6), b.readUInt16LE(8))
  // WebP: RIFF....WEBP then a VP8 / VP8L / VP8X chunk.
  if (b.length >= 30 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') {
    const chunk = b.toString('latin1', 12, 16)
    if (chunk === 'VP8 ') return ok(b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff)
    if (chunk === 'VP8L') {
      const bits = b.readUInt32LE(21)
      return ok((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1)
    }
    if (chunk === 'VP8X') return ok(b.readUIntLE(24, 3) + 1, b.readUIntLE(27, 3) + 1)
    return undefined
  }
  // JPEG: walk the segments up to a start-of-frame marker.
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2
    while (i + 3 < b.length) {
      if (b[i] !== 0xff) return undefined
      const marker = b[i + 1]!
      if (marker === 0xff) { i++; continue } // fill byte
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue }
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        if (i + 9 > b.length) return undefined
        return ok(b.readUInt16BE(i + 7), b.readUInt16BE(i + 5))
      }
      if (marker === 0xd9 || marker === 0xda) return undefined // end of image / scan data before any frame
      i += 2 + b.readUInt16BE(i + 2)
    }
  }
  return undefined
}

function ok(width: number, height: number): { width: number; height: number } | undefined {
  return width > 0 && height > 0 ? { width, height } : undefined
}

function imagePartTokens(family: ImageFamily, model: string, imageUrl: unknown): number {
  if (family === 'gemini') return GEMINI_IMAGE_TOKENS
  const obj = typeof imageUrl === 'object' && imageUrl !== null ? (imageUrl as { url?: unknown; detail?: unknown }) : undefined
  const url = typeof imageUrl === 'string' ? imageUrl : typeof obj?.url === 'string' ? obj.url : ''
  const detail: ImageDetail = obj?.detail === 'low' || obj?.detail === 'high' ? obj.detail : 'auto'
  if (family === 'openai' && detail === 'low') return openAIImageTokens(0, 0, 'low', model)
  const size = dataUrlImageSize(url) ?? { width: DEFAULT_IMAGE_WIDTH, height: DEFAULT_IMAGE_HEIGHT }
  return family === 'anthropic'
    ? anthropicImageTokens(size.width, size.height)
    : openAIImageTokens(size.width, size.height, detail, model)
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
