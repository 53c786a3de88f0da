// Cost of a request from the usage the provider reported (normalised by the
// provider translators to OpenAI's Usage shape) and a price in USD per 1M tokens.
//
// Usage semantics (OpenAI's, which every translator produces):
//  - prompt_tokens is ALL input tokens. Of those,
//    prompt_tokens_details.cached_tokens were cache reads, billed at
//    price.cacheRead (or price.input when the price has no cache-read rate), and
//    prompt_tokens_details.cache_write_tokens were written to the cache, billed
//    at price.cacheWrite, or price.input x CACHE_WRITE_FALLBACK_MULTIPLIER (1.25,
//    Anthropic's 5-minute cache-write premium) when the price has no
//    cache-write rate. The remainder is billed at price.input.
//  - completion_tokens is ALL output tokens, reasoning tokens
//    (completion_tokens_details.reasoning_tokens) included; all of them are
//    billed at price.output. reasoningTokens is reported for information only and
//    never billed a second time.
//
// Guards: missing, negative or non-finite counts and rates count as 0 (a bad
// rate for cacheRead/cacheWrite falls back as if absent). Cache reads are
// clamped to prompt_tokens, cache writes to what is left, reasoning tokens to
// completion_tokens, so a malformed usage can never produce a negative part.
//
// Arithmetic: tokens x (USD per 1M tokens) is an amount in micro-dollars; the
// parts are summed in micro-dollars and each figure is converted to USD and
// rounded to 1e-10 only at the end, so totalUsd is computed from the unrounded
// parts (it may differ from the sum of the rounded parts by < 1e-9).

import type { Usage } from '../openai/types.js'

/** USD per 1M tokens. */
export interface PriceEntry {
  input: number
  output: number
  cacheRead?: number
  cacheWrite?: number
}

export interface CostBreakdown {
  inputUsd: number
  cacheReadUsd: number
  cacheWriteUsd: number
  outputUsd: number
  reasoningTokens: number
  totalUsd: number
}

export const CACHE_WRITE_FALLBACK_MULTIPLIER = 1.25

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0)
const rate = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined)
/** micro-dollars -> USD rounded to 1e-10 (micro * 1e4 = USD * 1e10). */
const usd = (micro: number): number => Math.round(micro * 1e4) / 1e10

export function computeCost(usage: Usage, price: PriceEntry): CostBreakdown {
  const prompt = count(usage?.prompt_tokens)
  const cacheRead = Math.min(count(usage?.prompt_tokens_details?.cached_tokens), prompt)
  const cacheWrite = Math.min(count(usage?.prompt_tokens_details?.cache_write_tokens), prompt - cacheRead)
  const uncached = prompt - cacheRead - cacheWrite
  const completion = count(usage?.completion_tokens)
  const reasoning = Math.min(count(usage?.completion_tokens_details?.reasoning_tokens), completion)

  const inputRate = rate(price?.input) ?? 0
  const outputRate = rate(price?.output) ?? 0
  const readRate = rate(price?.cacheRead) ?? inputRate
  const writeRate = rate(price?.cacheWrite) ?? inputRate * CACHE_WRITE_FALLBACK_MULTIPLIER

  const inputMicro = uncached * inputRate
  const readMicro = cacheRead * readRate
  const writeMicro = cacheWrite * writeRate
  const outputMicro = completion * outputRate

  return {
    inputUsd: usd(inputMicro),
    cacheReadUsd: usd(readMicro),
    cacheWriteUsd: usd(writeMicro),
    outputUsd: usd(outputMicro),
    reasoningTokens: reasoning,
    totalUsd: usd(inputMicro + readMicro + writeMicro + outputMicro),
  }
}

/** Estimated USD cost of a request before it runs (no cache discounts assumed). */
export function estimateRequestCost(promptTokens: number, completionTokens: number, price: PriceEntry): number {
  return computeCost(
    { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: count(promptTokens) + count(completionTokens) },
    price,
  ).totalUsd
}
