// Upstream usage made safe, and the tally of relayed completion text
// (lib/proxy/usage.ts).
import { test } from 'tap'
import { CompletionTally, MAX_TOKEN_COUNT, sanitizeUsage, textTokenCounter, tokenCount } from '../../lib/proxy/usage.js'
import { countTextTokens } from '../../lib/cost/tokens.js'

test('tokenCount: a sane integer whatever the upstream sent', async (t) => {
  t.equal(tokenCount(12), 12)
  t.equal(tokenCount(1.5), 2)
  t.equal(tokenCount(1.4), 1)
  t.equal(tokenCount('12'), 12)
  t.equal(tokenCount(' 7 '), 7)
  t.equal(tokenCount('x'), 0)
  t.equal(tokenCount(''), 0)
  t.equal(tokenCount(-3), 0)
  t.equal(tokenCount(Number.NaN), 0)
  t.equal(tokenCount(Number.POSITIVE_INFINITY), 0)
  t.equal(tokenCount(1e20), MAX_TOKEN_COUNT)
  t.equal(tokenCount(null), 0)
  t.equal(tokenCount({}), 0)
  t.equal(tokenCount(true), 0)
})

test('sanitizeUsage keeps the shape and unknown fields, fixes the counts', async (t) => {
  t.equal(sanitizeUsage(undefined), undefined)
  t.equal(sanitizeUsage('usage'), undefined)
  t.equal(sanitizeUsage([1]), undefined)
  t.same(sanitizeUsage({ prompt_tokens: 1.5, completion_tokens: 'x', total_tokens: 'y', cost: 0.01 }), { prompt_tokens: 2, completion_tokens: 0, total_tokens: 2, cost: 0.01 })
  t.same(
    sanitizeUsage({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 3, prompt_tokens_details: { cached_tokens: -1, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: '4' } }),
    { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 4 } },
    'total never below its parts',
  )
  t.same(sanitizeUsage({ prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, prompt_tokens_details: null }), { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 })
})

test('CompletionTally counts content, reasoning, refusals and tool calls, in pieces for long streams', async (t) => {
  const counted: string[] = []
  const tally = new CompletionTally((s) => {
    counted.push(s)
    return s.length
  })
  tally.addChunk({ choices: [{ delta: { role: 'assistant', content: 'ab' } }] })
  tally.addChunk({ choices: [{ delta: { reasoning_content: 'cd', reasoning: 'e', refusal: 'f' } }] })
  tally.addChunk({ choices: [{ delta: { tool_calls: [{ index: 0, function: { name: 'g', arguments: 'hi' } }], function_call: { name: 'j', arguments: 'k' } } }] })
  tally.addChunk({ choices: [{ delta: {} }], usage: null })
  tally.addChunk({ nonsense: true })
  t.equal(tally.tokens(), 11)
  t.same(counted, ['abcdefghijk'])

  // 100 KiB of words: counted in pieces cut at spaces, never all at once.
  const pieces: string[] = []
  const long = new CompletionTally((s) => {
    pieces.push(s)
    return countTextTokens(s, 'o200k_base')
  })
  const word = 'gateway '
  let all = ''
  for (let i = 0; i < 12_800; i++) {
    long.addChunk({ choices: [{ delta: { content: word } }] })
    all += word
  }
  const tokens = long.tokens()
  t.ok(pieces.length > 4, `${pieces.length} pieces`)
  t.ok(pieces.every((p) => p.length <= 16 * 1024 + word.length), 'no piece much over 16 KiB')
  t.equal(pieces.join(''), all, 'every character counted once')
  // The text's exact count: "gateway", then 12,799 x " gateway", then the trailing " ".
  // Cutting before a space keeps each word with its leading space, as the tokenizer splits it.
  const c = (s: string) => countTextTokens(s, 'o200k_base')
  const exact = c('gateway') + 12_799 * c(' gateway') + c(' ')
  t.equal(tokens, exact, `${tokens} tokens`)
})

test('a whole completion, and the counter per provider', async (t) => {
  const tally = new CompletionTally(textTokenCounter({ providerType: 'anthropic', upstreamModel: 'claude-x' }))
  tally.addCompletion({ choices: [{ message: { role: 'assistant', content: 'twelve chars', tool_calls: [{ function: { name: 'fn', arguments: '{}' } }] } }] })
  t.equal(tally.tokens(), Math.ceil('twelve charsfn{}'.length / 4))
  const openai = new CompletionTally(textTokenCounter({ providerType: 'openai', upstreamModel: 'gpt-4o-mini' }))
  openai.addCompletion({ choices: [{ message: { content: 'Hello, world!' } }] })
  t.equal(openai.tokens(), countTextTokens('Hello, world!', 'o200k_base'))
})
