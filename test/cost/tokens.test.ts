import { test } from 'tap'
import { encode as encO200k } from 'gpt-tokenizer/encoding/o200k_base'
import { encode as encCl100k } from 'gpt-tokenizer/encoding/cl100k_base'
import fc from 'fast-check'
import {
  BoundedTextCounter,
  countTextTokens,
  EXACT_WORK_BUDGET,
  MAX_PIECE_WORK,
  countEmbeddingInputTokens,
  countPromptTokens,
} from '../../lib/cost/tokens.js'
import { encodingForModel, encodingsFor, inVocabulary, vocabularySet } from '../../lib/cost/encoders.js'
import { anthropicImageTokens, dataUrlImageSize, openAIImageTokens } from '../../lib/cost/image-tokens.js'
import type { ChatCompletionRequest, ChatMessage, ToolDefinition } from '../../lib/openai/types.js'

// The overheads are typed here as literals on purpose: importing the library's
// constants would let an off-by-one there pass unnoticed.
const PER_MESSAGE = 3
const PER_NAME = 1
const PRIMING = 3
const PER_TOOL = 8
const PER_TOOL_CALL = 3

const o200k = (s: string) => encO200k(s).length
const plain = (encode: typeof encO200k, s: string) => encode(s, { disallowedSpecial: new Set() }).length
const cl100k = (s: string) => encCl100k(s).length
const req = (messages: ChatMessage[], extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  model: 'x',
  messages,
  ...extra,
})

/** A base64 data URL of a minimal PNG header with the given size. */
function pngDataUrl(width: number, height: number): string {
  const b = Buffer.alloc(33)
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0)
  b.writeUInt32BE(13, 8)
  b.write('IHDR', 12, 'latin1')
  b.writeUInt32BE(width, 16)
  b.writeUInt32BE(height, 20)
  return `data:image/png;base64,${b.toString('base64')}`
}

/** A JPEG with an APP0 segment before the SOF0 frame header. */
function jpegDataUrl(width: number, height: number): string {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, ...Buffer.from('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0])
  const sof = Buffer.alloc(19)
  sof.writeUInt16BE(0xffc0, 0)
  sof.writeUInt16BE(17, 2)
  sof[4] = 8
  sof.writeUInt16BE(height, 5)
  sof.writeUInt16BE(width, 7)
  const b = Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])])
  return `data:image/jpeg;base64,${b.toString('base64')}`
}

test('OpenAI chat overhead: 3/message + role + content, name +1, +3 priming', async (t) => {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You are a terse assistant.' },
    { role: 'user', content: 'What is the capital of France?', name: 'alice' },
  ]
  const expected =
    PER_MESSAGE + o200k('system') + o200k('You are a terse assistant.') +
    PER_MESSAGE + o200k('user') + o200k('What is the capital of France?') + o200k('alice') + PER_NAME +
    PRIMING
  t.same(countPromptTokens(req(messages), 'openai', 'gpt-4o'), { tokens: expected, method: 'tiktoken' })
  // Azure and mock providers use the same rules, whatever the deployment name.
  t.equal(countPromptTokens(req(messages), 'azure', 'my-prod-deployment').tokens, expected)
  t.equal(countPromptTokens(req(messages), 'mock', 'echo').tokens, expected)
})

test("matches the OpenAI cookbook's published example counts", async (t) => {
  // openai-cookbook "How to count tokens with tiktoken": the example below is
  // 129 prompt tokens for gpt-3.5-turbo / gpt-4 and 124 for gpt-4o / gpt-4o-mini,
  // as reported by the API itself.
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.' },
    { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
    { role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
    { role: 'system', name: 'example_user', content: "Let's circle back when we have more time to touch base on opportunities for increased leverage." },
    { role: 'system', name: 'example_assistant', content: "Let's talk later when we're less busy about how to do better." },
    { role: 'user', content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
  ]
  t.equal(countPromptTokens(req(messages), 'openai', 'gpt-4').tokens, 129)
  t.equal(countPromptTokens(req(messages), 'openai', 'gpt-3.5-turbo').tokens, 129)
  t.equal(countPromptTokens(req(messages), 'openai', 'gpt-4o').tokens, 124)
  t.equal(countPromptTokens(req(messages), 'openai', 'gpt-4o-mini').tokens, 124)
})

test('encoding follows the model: cl100k for gpt-4 / 3.5 / embeddings-3, o200k otherwise', async (t) => {
  t.equal(encodingForModel('gpt-4'), 'cl100k_base')
  t.equal(encodingForModel('gpt-4-turbo-2024-04-09'), 'cl100k_base')
  t.equal(encodingForModel('gpt-3.5-turbo'), 'cl100k_base')
  t.equal(encodingForModel('gpt-35-turbo'), 'cl100k_base')
  t.equal(encodingForModel('text-embedding-3-small'), 'cl100k_base')
  t.equal(encodingForModel('text-embedding-ada-002'), 'cl100k_base')
  t.equal(encodingForModel('gpt-4o-mini'), 'o200k_base')
  t.equal(encodingForModel('gpt-4.1-nano'), 'o200k_base')
  t.equal(encodingForModel('gpt-5'), 'o200k_base')
  t.equal(encodingForModel('o3-mini'), 'o200k_base')
  t.equal(encodingForModel('chatgpt-4o-latest'), 'o200k_base')
  t.equal(encodingForModel('ft:gpt-4o-mini-2024-07-18:org::abc'), 'o200k_base')

  // A text whose length differs between the two encodings proves the count uses the right one.
  const text = 'Привет, мир! こんにちは世界 — naïve café déjà vu, 1234567890.'
  t.not(o200k(text), cl100k(text), 'fixture must tokenize differently')
  const fixed = PER_MESSAGE + PRIMING
  const msg: ChatMessage[] = [{ role: 'user', content: text }]
  t.equal(countPromptTokens(req(msg), 'openai', 'gpt-4').tokens, fixed + cl100k('user') + cl100k(text))
  t.equal(countPromptTokens(req(msg), 'openai', 'gpt-4o').tokens, fixed + o200k('user') + o200k(text))
})

test('OpenAI-family model ids use tiktoken whatever the provider type', async (t) => {
  const msg: ChatMessage[] = [{ role: 'user', content: 'hello there' }]
  const r = countPromptTokens(req(msg), 'anthropic', 'gpt-4o')
  t.same(r, { tokens: PER_MESSAGE + o200k('user') + o200k('hello there') + PRIMING, method: 'tiktoken' })
  t.equal(countPromptTokens(req(msg), 'gemini', 'o3-mini').method, 'tiktoken')
  t.equal(countPromptTokens(req(msg), 'gemini', 'gemini-2.0-flash').method, 'approximation')
})

test('special tokens in user text are counted as text, not rejected', async (t) => {
  const text = 'ignore <|endoftext|> and <|im_start|>'
  const plain = encO200k(text, { disallowedSpecial: new Set() }).length
  const r = countPromptTokens(req([{ role: 'user', content: text }]), 'openai', 'gpt-4o')
  t.equal(r.tokens, PER_MESSAGE + o200k('user') + plain + PRIMING)
})

test('multi-part content, refusal parts, unknown parts and null content', async (t) => {
  const messages: ChatMessage[] = [
    { role: 'user', content: [{ type: 'text', text: 'first part' }, { type: 'text', text: 'second part' }, { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] },
    { role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot do that.' }] },
    { role: 'assistant', content: null },
  ]
  const expected =
    PER_MESSAGE + o200k('user') + o200k('first part') + o200k('second part') +
    PER_MESSAGE + o200k('assistant') + o200k('I cannot do that.') +
    PER_MESSAGE + o200k('assistant') +
    PRIMING
  t.equal(countPromptTokens(req(messages), 'openai', 'gpt-4o').tokens, expected)
  t.equal(countPromptTokens(req([]), 'openai', 'gpt-4o').tokens, PRIMING)
})

test('tool definitions, tool calls and tool results', async (t) => {
  const parameters = {
    type: 'object',
    properties: { city: { type: 'string', description: 'City name' }, unit: { type: 'string', enum: ['c', 'f'] } },
    required: ['city'],
  }
  const tools: ToolDefinition[] = [
    { type: 'function', function: { name: 'get_weather', description: 'Current weather for a city', parameters } },
    { type: 'function', function: { name: 'ping' } },
  ]
  const args = '{"city":"Paris","unit":"c"}'
  const messages: ChatMessage[] = [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: args } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
  ]
  const messagesOnly =
    PER_MESSAGE + o200k('user') + o200k('Weather in Paris?') +
    PER_MESSAGE + o200k('assistant') + PER_TOOL_CALL + o200k('get_weather') + o200k(args) +
    PER_MESSAGE + o200k('tool') + o200k('{"temp":21}') +
    PRIMING
  t.equal(countPromptTokens(req(messages), 'openai', 'gpt-4o').tokens, messagesOnly)

  const toolTokens =
    PER_TOOL + o200k(`get_weather\nCurrent weather for a city\n${JSON.stringify(parameters)}`) +
    PER_TOOL + o200k('ping')
  t.equal(countPromptTokens(req(messages, { tools }), 'openai', 'gpt-4o').tokens, messagesOnly + toolTokens)

  // Legacy `functions` are counted like tools.
  const legacy = req(messages, { functions: [{ name: 'ping' }] })
  t.equal(countPromptTokens(legacy, 'openai', 'gpt-4o').tokens, messagesOnly + PER_TOOL + o200k('ping'))
})

test('response_format json_schema is counted', async (t) => {
  const jsonSchema = { name: 'answer', schema: { type: 'object', properties: { a: { type: 'number' } } } }
  const messages: ChatMessage[] = [{ role: 'user', content: 'hi' }]
  const base = countPromptTokens(req(messages), 'openai', 'gpt-4o').tokens
  const withSchema = countPromptTokens(req(messages, { response_format: { type: 'json_schema', json_schema: jsonSchema } }), 'openai', 'gpt-4o').tokens
  t.equal(withSchema - base, o200k(JSON.stringify(jsonSchema)))
  const jsonObject = countPromptTokens(req(messages, { response_format: { type: 'json_object' } }), 'openai', 'gpt-4o').tokens
  t.equal(jsonObject, base)
})

test("OpenAI image tile rule matches OpenAI's documented examples", async (t) => {
  t.equal(openAIImageTokens(1024, 1024, 'high'), 765) // 768x768 -> 4 tiles
  t.equal(openAIImageTokens(2048, 4096, 'high'), 1105) // 1024x2048 -> 768x1536 -> 6 tiles
  t.equal(openAIImageTokens(4096, 8192, 'low'), 85)
  t.equal(openAIImageTokens(512, 512, 'auto'), 255) // no upscaling: 1 tile
  t.equal(openAIImageTokens(513, 100, 'high'), 85 + 170 * 2)
  t.equal(openAIImageTokens(0, 0, 'auto'), 765, 'unknown size -> 1024x1024 default')
  t.equal(openAIImageTokens(1024, 1024, 'high', 'gpt-4o-mini'), 2833 + 5667 * 4)
  t.equal(openAIImageTokens(1024, 1024, 'low', 'gpt-4o-mini-2024-07-18'), 2833)
})

test('images in a chat request: detail, default size, data URL sizes', async (t) => {
  const image = (url: string, detail?: 'low' | 'high' | 'auto'): ChatMessage[] => [
    { role: 'user', content: [{ type: 'image_url', image_url: detail ? { url, detail } : { url } }] },
  ]
  const fixed = PER_MESSAGE + o200k('user') + PRIMING
  t.equal(countPromptTokens(req(image('https://x.test/a.png', 'low')), 'openai', 'gpt-4o').tokens, fixed + 85)
  t.equal(countPromptTokens(req(image('https://x.test/a.png')), 'openai', 'gpt-4o').tokens, fixed + 765)
  t.equal(countPromptTokens(req(image('https://x.test/a.png', 'high')), 'openai', 'gpt-4o').tokens, fixed + 765)
  t.equal(countPromptTokens(req(image(pngDataUrl(2048, 4096), 'high')), 'openai', 'gpt-4o').tokens, fixed + 1105)
  t.equal(countPromptTokens(req(image(pngDataUrl(300, 200))), 'openai', 'gpt-4o').tokens, fixed + 255)
  t.equal(countPromptTokens(req(image(jpegDataUrl(2048, 4096))), 'openai', 'gpt-4o').tokens, fixed + 1105)
})

test('data URL size sniffing: PNG, JPEG, GIF, WebP, garbage', async (t) => {
  t.same(dataUrlImageSize(pngDataUrl(640, 480)), { width: 640, height: 480 })
  t.same(dataUrlImageSize(jpegDataUrl(1920, 1080)), { width: 1920, height: 1080 })
  const gif = Buffer.from([...Buffer.from('GIF89a'), 0x40, 0x01, 0xf0, 0x00, 0, 0, 0])
  t.same(dataUrlImageSize(`data:image/gif;base64,${gif.toString('base64')}`), { width: 320, height: 240 })
  const webp = Buffer.alloc(30)
  webp.write('RIFF', 0, 'latin1')
  webp.write('WEBPVP8X', 8, 'latin1')
  webp.writeUIntLE(799, 24, 3)
  webp.writeUIntLE(599, 27, 3)
  t.same(dataUrlImageSize(`data:image/webp;base64,${webp.toString('base64')}`), { width: 800, height: 600 })
  t.equal(dataUrlImageSize('data:image/png;base64,bm90IGFuIGltYWdl'), undefined)
  t.equal(dataUrlImageSize('data:text/plain,hello'), undefined)
  t.equal(dataUrlImageSize('https://x.test/a.png'), undefined)
})

test('approximation path: ceil(chars/4) + the same overheads', async (t) => {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'Be brief.' }, // 6 + 9 chars
    { role: 'user', content: 'Summarise this paragraph please.', name: 'bob' }, // 4 + 32 + 3 chars
  ]
  const chars = 6 + 9 + 4 + 32 + 3
  const expected = Math.ceil(chars / 4) + 2 * PER_MESSAGE + PER_NAME + PRIMING
  t.same(countPromptTokens(req(messages), 'anthropic', 'claude-3-5-haiku-latest'), { tokens: expected, method: 'approximation' })
  t.equal(countPromptTokens(req(messages), 'gemini', 'gemini-2.0-flash').tokens, expected)

  const tools: ToolDefinition[] = [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' } } }]
  const toolChars = 'f\nd\n{"type":"object"}'.length
  t.equal(
    countPromptTokens(req(messages, { tools }), 'anthropic', 'claude-3-5-haiku-latest').tokens,
    Math.ceil((chars + toolChars) / 4) + 2 * PER_MESSAGE + PER_NAME + PRIMING + PER_TOOL,
  )
})

test('Anthropic and Gemini images', async (t) => {
  t.equal(anthropicImageTokens(1024, 1024), 1399) // ceil(1048576 / 750)
  t.equal(anthropicImageTokens(200, 150), 40)
  t.equal(anthropicImageTokens(4000, 3000), 1600, 'capped')
  t.equal(anthropicImageTokens(0, 0), 1399, 'unknown -> 1024x1024')

  const image = (url: string): ChatMessage[] => [{ role: 'user', content: [{ type: 'image_url', image_url: { url, detail: 'low' } }] }]
  const fixed = Math.ceil('user'.length / 4) + PER_MESSAGE + PRIMING
  // detail: low is an OpenAI notion; Anthropic bills by pixels.
  t.equal(countPromptTokens(req(image('https://x.test/a.png')), 'anthropic', 'claude-sonnet-4-5').tokens, fixed + 1399)
  t.equal(countPromptTokens(req(image(pngDataUrl(200, 150))), 'anthropic', 'claude-sonnet-4-5').tokens, fixed + 40)
  t.equal(countPromptTokens(req(image(pngDataUrl(4000, 3000))), 'gemini', 'gemini-2.5-flash').tokens, fixed + 258)
  const two: ChatMessage[] = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x.test/a' } }, { type: 'image_url', image_url: { url: 'https://x.test/b' } }] }]
  t.equal(countPromptTokens(req(two), 'gemini', 'gemini-2.5-flash').tokens, fixed + 2 * 258)
})

test('embedding input tokens', async (t) => {
  const a = 'The quick brown fox jumps over the lazy dog.'
  const b = 'Embeddings are vectors.'
  t.same(countEmbeddingInputTokens(a, 'text-embedding-3-small'), { tokens: cl100k(a), method: 'tiktoken' })
  t.equal(countEmbeddingInputTokens([a, b], 'text-embedding-3-large').tokens, cl100k(a) + cl100k(b))
  t.equal(countEmbeddingInputTokens([1, 2, 3, 4], 'text-embedding-3-small').tokens, 4)
  t.equal(countEmbeddingInputTokens([[1, 2], [3, 4, 5]], 'text-embedding-3-small').tokens, 5)
  t.equal(countEmbeddingInputTokens([], 'text-embedding-3-small').tokens, 0)
  t.equal(countEmbeddingInputTokens(a, 'my-embedder', 'azure').method, 'tiktoken')
  t.same(countEmbeddingInputTokens(a, 'gemini-embedding-001', 'gemini'), { tokens: Math.ceil(a.length / 4), method: 'approximation' })
})

test('ordinary text within the budget is counted exactly, and says so', async (t) => {
  // Varied prose and code, ~6 KB: below the work budget (CJK costs the most per character).
  const sentences = [
    'The gateway routes each request to a deployment chosen by the strategy. ',
    "Don't forget: naïve café owners in Zürich pay 12,345.67 CHF per month! ",
    'const x = await fetch(`${base}/v1/chat/completions`, { method: "POST" })\n',
    'Привет, мир! こんにちは世界。 数据库连接失败，请稍后重试。\n',
    '    if (a <= b && c !== d) { return [1, 2, 3].map((n) => n * 2) }\n',
  ]
  let text = ''
  for (let i = 0; text.length < 6_000; i++) text += sentences[i % sentences.length]! + (i % 7 === 0 ? `item-${i} ` : '')
  for (const [model, count] of [['gpt-4o', o200k], ['gpt-4', cl100k]] as const) {
    const r = countPromptTokens(req([{ role: 'user', content: text }]), 'openai', model)
    t.same(r, { tokens: PER_MESSAGE + count('user') + count(text) + PRIMING, method: 'tiktoken' }, model)
  }
  t.equal(countTextTokens(text, 'o200k_base'), o200k(text))
  const counter = new BoundedTextCounter('o200k_base')
  counter.add(text)
  t.ok(counter.spent.work < EXACT_WORK_BUDGET, `work ${counter.spent.work} is within the budget`)
})

test('exact for random ordinary texts, like gpt-tokenizer itself', async (t) => {
  // Words, numbers, punctuation, whitespace and non-Latin scripts in random
  // mixtures: every piece shorter than MAX_PIECE_CHARS, so no estimate.
  const atom = fc.constantFrom(
    'hello', ' world', "'s", "'LL", ' 2024', '12345', '...', '!?', '\n', '\r\n', '  ', '\t', ' ',
    'naïve', 'Ünïcödé', '数据', 'こんにちは', '😀', '👍🏽', '—', '<|endoftext|>', 'x', 'QQ', 'a/b', '/*', '0.5',
  )
  fc.assert(
    fc.property(fc.array(atom, { maxLength: 60 }), (atoms) => {
      const text = atoms.join('')
      return countTextTokens(text, 'o200k_base') === plain(encO200k, text) && countTextTokens(text, 'cl100k_base') === plain(encCl100k, text)
    }),
    { numRuns: 300 },
  )
  t.pass('300 random texts matched')
})

test('a long run is cut into pieces: close to the true count, marked as an estimate', async (t) => {
  // True counts from gpt-tokenizer on runs it can still afford, scaled up.
  const aPer = o200k('a'.repeat(1024)) / 1024
  const spacePer = o200k(' '.repeat(1024)) / 1024
  const within = (got: number, want: number, tolerance: number, what: string) =>
    t.ok(Math.abs(got - want) <= want * tolerance, `${what}: ${got} vs ~${Math.round(want)}`)
  for (const n of [100_000, 1_000_000]) {
    const r = countPromptTokens(req([{ role: 'user', content: 'a'.repeat(n) }]), 'openai', 'gpt-4o')
    t.equal(r.method, 'tiktoken+estimate')
    within(r.tokens - PER_MESSAGE - o200k('user') - PRIMING, n * aPer, 0.01, `${n} x a`)
  }
  const spaces = countPromptTokens(req([{ role: 'user', content: ' '.repeat(500_000) }]), 'openai', 'gpt-4o')
  within(spaces.tokens, 500_000 * spacePer, 0.02, 'spaces')
  // One emoji is one token however many times it is repeated.
  const emoji = countPromptTokens(req([{ role: 'user', content: '😀'.repeat(200_000) }]), 'openai', 'gpt-4o')
  t.equal(emoji.method, 'tiktoken+estimate')
  within(emoji.tokens, 200_000 * (o200k('😀'.repeat(64)) / 64), 0.01, 'emoji')
  // A surrogate pair is never split: the pieces of a run of astral characters stay valid text.
  const mixed = '𝔘'.repeat(10_001)
  within(countTextTokens(mixed, 'o200k_base'), 10_001 * (o200k('𝔘'.repeat(64)) / 64), 0.02, 'astral run')
})

test('past the work budget the rest is extrapolated; the work stays bounded', async (t) => {
  const big = 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(20_000) // ~1.1 MB
  const exact = o200k(big)
  const r = countPromptTokens(req([{ role: 'user', content: big }]), 'openai', 'gpt-4o')
  t.equal(r.method, 'tiktoken+estimate')
  const text = r.tokens - PER_MESSAGE - o200k('user') - PRIMING
  t.ok(Math.abs(text - exact) <= exact * 0.01, `${text} vs exact ${exact}`)

  // Whatever the input, the tokenizer is handed at most the budget; the work
  // overshoots it by at most one piece. (Units are calibrated in bench/tokens.ts.)
  const hostile = {
    letters: 'a'.repeat(4_000_000),
    spaces: ' '.repeat(4_000_000),
    digits: '9'.repeat(4_000_000),
    emoji: '😀'.repeat(2_000_000),
    cjk: Array.from({ length: 1_300_000 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20000))).join(''),
    words: Array.from({ length: 500_000 }, (_, i) => (i * 2654435761).toString(36)).join(' '),
  }
  for (const [name, s] of Object.entries(hostile)) {
    const counter = new BoundedTextCounter('o200k_base')
    counter.add(s)
    const { work, scannedChars } = counter.spent
    t.ok(scannedChars <= EXACT_WORK_BUDGET, `${name}: scanned ${scannedChars}`)
    t.ok(work <= EXACT_WORK_BUDGET + MAX_PIECE_WORK, `${name}: work ${work}`)
    const { tokens, estimated } = counter.result()
    t.ok(estimated && tokens > 0, `${name}: ${tokens} tokens, estimated`)
  }

  // Many texts share one budget: those past it are extrapolated, not scanned.
  const counter = new BoundedTextCounter('o200k_base')
  const message = 'every message says hello to the gateway. '.repeat(10)
  for (let i = 0; i < 10_000; i++) counter.add(message)
  t.ok(counter.spent.scannedChars <= EXACT_WORK_BUDGET)
  const many = counter.result().tokens
  t.ok(Math.abs(many - o200k(message) * 10_000) <= o200k(message) * 10_000 * 0.01, `${many} vs ~${o200k(message) * 10_000}`)
})

test('embeddings are bounded the same way', async (t) => {
  const r = countEmbeddingInputTokens(['a'.repeat(1_000_000), 'hello world'], 'text-embedding-3-small')
  t.equal(r.method, 'tiktoken+estimate')
  const want = 1_000_000 * (cl100k('a'.repeat(1024)) / 1024) + cl100k('hello world')
  t.ok(Math.abs(r.tokens - want) <= want * 0.01, `${r.tokens} vs ~${want}`)
  t.same(countEmbeddingInputTokens(['hello world', 'again'], 'text-embedding-3-small'), { tokens: cl100k('hello world') + cl100k('again'), method: 'tiktoken' })
  t.same(countEmbeddingInputTokens([], 'text-embedding-3-small'), { tokens: 0, method: 'tiktoken' })
})

test('one body is counted once per encoding (estimate-cost asks per candidate)', async (t) => {
  const body = req([{ role: 'user', content: 'x'.repeat(10) }])
  const first = countPromptTokens(body, 'openai', 'gpt-4o')
  // Mutating the text after the first count shows the second answer came from the memo.
  ;(body.messages[0] as { content: string }).content = 'y'.repeat(5000)
  t.same(countPromptTokens(body, 'azure', 'my-4o-deployment'), first, 'same encoding: memoized')
  t.not(countPromptTokens(body, 'openai', 'gpt-4').tokens, first.tokens, 'another encoding: counted')
})

test("the vocabulary lookup is the encoder's own map: the same answers as a set built from the ranks", async (t) => {
  for (const name of ['o200k_base', 'cl100k_base'] as const) {
    const set = vocabularySet(name)
    t.ok(set.size > 90_000, `${name}: a real vocabulary (${set.size} text entries)`)
    const entries = [...set]
    let disagree = 0
    // Every 97th entry, and texts that are not entries.
    for (let i = 0; i < entries.length; i += 97) if (!inVocabulary(name, entries[i]!)) disagree++
    for (const text of ['zzqqxxjj', ' antidisestablishmentarianism', '\u{1F600}\u{1F600}\u{1F600}', 'hello world how are you']) if (inVocabulary(name, text) !== set.has(text)) disagree++
    t.equal(disagree, 0, `${name}: no disagreement`)
  }
})

test('encodingsFor: o200k_base always, cl100k_base only when a configured model needs it', async (t) => {
  t.same(encodingsFor([]), ['o200k_base'])
  t.same(encodingsFor(['gpt-4o-mini', 'claude-3-5-sonnet', 'my-azure-deployment']), ['o200k_base'])
  t.same(encodingsFor(['gpt-4o', 'gpt-4-turbo']).sort(), ['cl100k_base', 'o200k_base'])
})
