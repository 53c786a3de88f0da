// The completion length a request is expected to produce, the same for every
// deployment of its model: the same prompt yields about the same answer
// whichever deployment serves it, so comparing deployments on their own
// histories (one measured at 4 tokens, the others assumed at 256) would pick
// by history, not by price. Used by the cost strategy, the planner's
// signals, /v1/routing/estimate-cost and /admin/routing/test.
//
//   1. the request's max_completion_tokens / max_tokens (the caller's bound);
//   2. else the model's observed mean completion tokens: the mean of each
//      deployment's mean, weighted by its sample count;
//   3. else DEFAULT_EXPECTED_COMPLETION_TOKENS.

import type { ExpectedCompletion, LatencyView } from './types.js'

export type { ExpectedCompletion, ExpectedCompletionSource } from './types.js'

/**
 * Completion tokens assumed when the request gives no max_tokens and no
 * deployment of the model has history yet: a typical chat answer (a few
 * paragraphs).
 */
export const DEFAULT_EXPECTED_COMPLETION_TOKENS = 256


/** max_completion_tokens (newer name, wins) or max_tokens, when a usable number. */
export function requestedMaxTokens(body: { max_completion_tokens?: unknown; max_tokens?: unknown } | undefined): number | undefined {
  for (const v of [body?.max_completion_tokens, body?.max_tokens]) {
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v
  }
  return undefined
}

/**
 * The expected completion of a request on a model, from the caller's bound
 * and the latency views of ALL the model's deployments (undefined views are
 * deployments without history).
 */
export function expectedCompletion(maxOutputTokens: number | undefined, views: Iterable<LatencyView | undefined>): ExpectedCompletion {
  if (maxOutputTokens !== undefined && Number.isFinite(maxOutputTokens) && maxOutputTokens >= 0) {
    return { tokens: Math.round(maxOutputTokens), source: 'max_tokens' }
  }
  let weighted = 0
  let samples = 0
  for (const v of views) {
    const mean = v?.meanCompletionTokens
    const n = v?.samples ?? 0
    if (mean === undefined || !Number.isFinite(mean) || mean < 0 || !(n > 0)) continue
    weighted += mean * n
    samples += n
  }
  // Whole tokens, so every consumer (strategy, estimates, reports) prices the same number.
  if (samples > 0) return { tokens: Math.round(weighted / samples), source: 'model-mean', samples }
  return { tokens: DEFAULT_EXPECTED_COMPLETION_TOKENS, source: 'default' }
}

/** Human-readable origin, for ranking reasons. */
export function describeExpectedCompletion(e: ExpectedCompletion): string {
  if (e.source === 'max_tokens') return 'max tokens'
  if (e.source === 'model-mean') return `model mean over ${e.samples} samples`
  return 'default'
}
