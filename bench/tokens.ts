// Token counting cost: CPU time of countPromptTokens on prompts up to the body
// limit, ordinary and hostile. Fresh random content per run, so neither the
// per-body memo nor gpt-tokenizer's merge cache flatters the figures.
//
//   npx tsc -p tsconfig.json && node dist/bench/tokens.js
//   TOKENS_BENCH_RUNS=5 node dist/bench/tokens.js
import { readFileSync } from 'node:fs'
import { countPromptTokens, countEmbeddingInputTokens } from '../lib/cost/tokens.js'
import { warmTokenizers } from '../lib/cost/encoders.js'

const RUNS = Number(process.env.TOKENS_BENCH_RUNS ?? 5)
const MB = 1024 * 1024

let seed = 42
const random = () => {
  seed = (seed * 1103515245 + 12345) >>> 0
  return seed / 2 ** 32
}
const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!
const letters = 'abcdefghijklmnopqrstuvwxyz'

/** English-like prose from the README's own words. */
function prose(chars: number): string {
  const words = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').split(/\s+/).filter(Boolean)
  const parts: string[] = []
  let n = 0
  while (n < chars) {
    const w = pick(words)
    parts.push(w)
    n += w.length + 1
  }
  return parts.join(' ').slice(0, chars)
}

/** Words that are not in any vocabulary: the merge runs for each one. */
function randomWords(chars: number): string {
  let s = ''
  while (s.length < chars) {
    let w = ''
    for (let i = 0, len = 3 + Math.floor(random() * 8); i < len; i++) w += pick([...letters])
    s += w + ' '
  }
  return s.slice(0, chars)
}

function randomCjk(chars: number): string {
  let s = ''
  for (let i = 0; i < chars; i++) s += String.fromCharCode(0x4e00 + Math.floor(random() * 20000))
  return s
}

function randomEmoji(chars: number): string {
  let s = ''
  while (s.length < chars) s += String.fromCodePoint(0x1f300 + Math.floor(random() * 700))
  return s
}

const cases: Array<[string, () => string]> = [
  ['prose 16 KB', () => prose(16_000)],
  ['prose 4 MB', () => prose(4 * MB - 200)],
  ['random words 4 MB', () => randomWords(4 * MB - 200)],
  ['100,000 x "a"', () => 'a'.repeat(100_000)],
  ['1,000,000 x "a"', () => 'a'.repeat(1_000_000)],
  ['4 MB of "a"', () => 'a'.repeat(4 * MB - 200)],
  ['4 MB of spaces', () => ' '.repeat(4 * MB - 200)],
  ['4 MB of digits', () => '7'.repeat(4 * MB - 200)],
  ['one emoji x 1,000,000', () => '😀'.repeat(1_000_000)],
  ['random emoji 4 MB', () => randomEmoji(2 * MB - 100)],
  ['random CJK 4 MB', () => randomCjk(Math.floor((4 * MB - 200) / 3))],
]

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage()
  fn()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

const warmStart = process.cpuUsage()
warmTokenizers()
const warm = process.cpuUsage(warmStart)
console.log(`warm-up (both encodings): ${((warm.user + warm.system) / 1000).toFixed(0)} ms CPU`)
console.log(`node ${process.version}, ${RUNS} runs per case: CPU ms, median and slowest run\n`)
// One untimed pass first: the figures are a warm process's, like a gateway's after its first requests.
for (const [, make] of cases) countPromptTokens({ model: 'gpt-4o', messages: [{ role: 'user', content: make() }] }, 'openai', 'gpt-4o')
console.log('case'.padEnd(24), 'MB'.padStart(6), 'tokens'.padStart(10), 'method'.padStart(18), 'chat ms'.padStart(9), 'max'.padStart(7), 'ms/MB'.padStart(7), 'emb ms'.padStart(8), 'max'.padStart(7))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
for (const [name, make] of cases) {
  const chat: number[] = []
  const emb: number[] = []
  let tokens = 0
  let method = ''
  let mb = 0
  for (let r = 0; r < RUNS; r++) {
    const text = make()
    mb = Buffer.byteLength(text) / MB
    // A fresh body each run: nothing memoized.
    const body = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: text }] }
    chat.push(cpuMs(() => {
      const c = countPromptTokens(body, 'openai', 'gpt-4o')
      tokens = c.tokens
      method = c.method
    }))
    emb.push(cpuMs(() => void countEmbeddingInputTokens([text], 'text-embedding-3-small')))
  }
  const m = median(chat)
  console.log(
    name.padEnd(24), mb.toFixed(2).padStart(6), String(tokens).padStart(10), method.padStart(18),
    m.toFixed(1).padStart(9), Math.max(...chat).toFixed(1).padStart(7), (m / Math.max(mb, 1)).toFixed(1).padStart(7),
    median(emb).toFixed(1).padStart(8), Math.max(...emb).toFixed(1).padStart(7),
  )
}
