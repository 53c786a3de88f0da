import { test } from 'tap'
import { computeCost, estimateRequestCost, type PriceEntry } from '../../lib/cost/compute.js'
import { lookupCatalogPrice } from '../../lib/cost/catalog.js'
import type { Usage } from '../../lib/openai/types.js'

const usage = (u: Partial<Usage>): Usage => ({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, ...u })

test('cache reads, cache writes and reasoning with explicit cache rates', async (t) => {
  const price: PriceEntry = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 }
  const r = computeCost(
    usage({
      prompt_tokens: 10_000,
      prompt_tokens_details: { cached_tokens: 6_000, cache_write_tokens: 2_000 },
      completion_tokens: 500,
      completion_tokens_details: { reasoning_tokens: 200 },
    }),
    price,
  )
  // uncached 2000 x $3/M = 0.006; reads 6000 x 0.3/M = 0.0018;
  // writes 2000 x 3.75/M = 0.0075; output 500 x 15/M = 0.0075 (reasoning included)
  t.same(r, { inputUsd: 0.006, cacheReadUsd: 0.0018, cacheWriteUsd: 0.0075, outputUsd: 0.0075, reasoningTokens: 200, totalUsd: 0.0228 })
})

test('missing cache rates fall back to input (reads) and input x 1.25 (writes)', async (t) => {
  const r = computeCost(
    usage({ prompt_tokens: 1000, prompt_tokens_details: { cached_tokens: 400, cache_write_tokens: 100 }, completion_tokens: 300 }),
    { input: 2, output: 8 },
  )
  // uncached 500 x 2 = 0.001; reads 400 x 2 = 0.0008; writes 100 x 2.5 = 0.00025; output 300 x 8 = 0.0024
  t.same(r, { inputUsd: 0.001, cacheReadUsd: 0.0008, cacheWriteUsd: 0.00025, outputUsd: 0.0024, reasoningTokens: 0, totalUsd: 0.00445 })
})

test('a catalog cache-write rate is used as is, not input x 1.25', async (t) => {
  const r = computeCost(usage({ prompt_tokens: 1000, prompt_tokens_details: { cache_write_tokens: 1000 } }), { input: 1, output: 1, cacheWrite: 2 })
  t.equal(r.cacheWriteUsd, 0.002)
  t.equal(r.inputUsd, 0)
})

test('reasoning tokens are billed once, inside completion_tokens', async (t) => {
  const r = computeCost(
    usage({
      prompt_tokens: 1234,
      prompt_tokens_details: { cached_tokens: 1024 },
      completion_tokens: 789,
      completion_tokens_details: { reasoning_tokens: 500 },
    }),
    { input: 0.15, output: 0.6, cacheRead: 0.075 },
  )
  // uncached 210 x 0.15 = 31.5 micro$; reads 1024 x 0.075 = 76.8; output 789 x 0.6 = 473.4; total 581.7 micro$
  t.same(r, { inputUsd: 0.0000315, cacheReadUsd: 0.0000768, cacheWriteUsd: 0, outputUsd: 0.0004734, reasoningTokens: 500, totalUsd: 0.0005817 })
})

test('malformed usage is clamped, never negative or NaN', async (t) => {
  const price: PriceEntry = { input: 1, output: 2, cacheRead: 0.5 }
  const over = computeCost(
    usage({ prompt_tokens: 100, prompt_tokens_details: { cached_tokens: 150, cache_write_tokens: 50 }, completion_tokens: -5, completion_tokens_details: { reasoning_tokens: Number.NaN } }),
    price,
  )
  // cached clamped to 100 -> 100 x 0.5 = 50 micro$; nothing left for writes or uncached input
  t.same(over, { inputUsd: 0, cacheReadUsd: 0.00005, cacheWriteUsd: 0, outputUsd: 0, reasoningTokens: 0, totalUsd: 0.00005 })

  const nan = computeCost(usage({ prompt_tokens: Number.NaN, completion_tokens: Number.POSITIVE_INFINITY }), price)
  t.equal(nan.totalUsd, 0)

  const reasoningOver = computeCost(usage({ completion_tokens: 10, completion_tokens_details: { reasoning_tokens: 50 } }), price)
  t.equal(reasoningOver.reasoningTokens, 10)
  t.equal(reasoningOver.outputUsd, 0.00002)

  const writesOver = computeCost(usage({ prompt_tokens: 100, prompt_tokens_details: { cached_tokens: 60, cache_write_tokens: 80 } }), { input: 1, output: 1, cacheRead: 1, cacheWrite: 1 })
  t.equal(writesOver.cacheWriteUsd, 0.00004, 'writes clamped to prompt - cached = 40')
  t.equal(writesOver.totalUsd, 0.0001)

  const missing = computeCost({} as Usage, price)
  t.equal(missing.totalUsd, 0)
})

test('bad rates count as 0 / fall back', async (t) => {
  const r = computeCost(
    usage({ prompt_tokens: 1000, prompt_tokens_details: { cached_tokens: 500 }, completion_tokens: 1000 }),
    { input: -1, output: Number.NaN, cacheRead: Number.NaN },
  )
  t.same(r, { inputUsd: 0, cacheReadUsd: 0, cacheWriteUsd: 0, outputUsd: 0, reasoningTokens: 0, totalUsd: 0 })
  const fallback = computeCost(usage({ prompt_tokens: 1000, prompt_tokens_details: { cached_tokens: 1000 } }), { input: 4, output: 0, cacheRead: -1 })
  t.equal(fallback.cacheReadUsd, 0.004, 'invalid cacheRead falls back to input')
})

test('rounding: exact to 1e-10, no float noise', async (t) => {
  // 3 x 0.1 = 0.30000000000000004 in floating point
  t.equal(computeCost(usage({ prompt_tokens: 3 }), { input: 0.1, output: 0 }).totalUsd, 3e-7)
  t.equal(computeCost(usage({ prompt_tokens: 1 }), { input: 0.00001, output: 0 }).totalUsd, 0, 'below 1e-10 rounds away')
  t.equal(computeCost(usage({ prompt_tokens: 7, completion_tokens: 11 }), { input: 0.35, output: 1.05 }).totalUsd, 0.00001400)
})

test('estimateRequestCost', async (t) => {
  t.equal(estimateRequestCost(1000, 500, { input: 2.5, output: 10 }), 0.0075)
  t.equal(estimateRequestCost(0, 0, { input: 2.5, output: 10 }), 0)
  t.equal(estimateRequestCost(-10, Number.NaN, { input: 2.5, output: 10 }), 0)
  // No cache discount assumed: a cacheRead rate does not change the estimate.
  t.equal(estimateRequestCost(1000, 0, { input: 2.5, output: 10, cacheRead: 0.1 }), 0.0025)
})

test('with a catalog price: 1M in + 1M out of gpt-4o-mini', async (t) => {
  const price = lookupCatalogPrice('openai', 'gpt-4o-mini')
  t.ok(price)
  t.equal(estimateRequestCost(1_000_000, 1_000_000, price!), 0.75) // $0.15 + $0.60
})
