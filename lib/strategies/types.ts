// Contract shared by the routing strategies. A strategy is a pure ranking of the
// deployments (candidates) of the requested model: it reads only what the caller
// passes in RoutingSignals (latency view, in-flight counts, a random source) and
// returns the FULL ordered list. The first entry is tried first; the rest is the
// fallback order. Stateful strategies (balanced, least-busy) keep their state in
// the instance returned by their factory.


/** Every routing strategy, in the order they are listed to users; the one source of the names. */
export const STRATEGY_NAMES = Object.freeze(['model', 'cost', 'latency', 'balanced', 'least-busy', 'rules'] as const)
export type StrategyName = (typeof STRATEGY_NAMES)[number]
/** 'rules' picks a rule first (lib/routing/planner.ts); one of these then ranks the candidates. */
export type RankingStrategyName = Exclude<StrategyName, 'rules'>

/** USD per 1M tokens. */
export interface Pricing {
  input: number
  output: number
  cacheRead?: number
  cacheWrite?: number
}

/** One deployment of the requested model. */
export interface Candidate {
  /** Stable deployment id. */
  id: string
  provider: string
  providerType: string
  /** Public model name. */
  model: string
  upstreamModel: string
  /** Declared order. */
  position: number
  /** > 0. */
  weight: number
  pricing?: Pricing
}

/** Latency view of one deployment, as returned by LatencyTracker.get(). */
export interface LatencyView {
  emaMs?: number
  emaTtftMs?: number
  samples: number
  meanCompletionTokens?: number
}

/** What the strategies may read, provided by the caller. */
export interface RoutingSignals {
  /** Estimated prompt tokens of the request (counted on the first candidate in declared order). */
  promptTokens: number
  /**
   * Estimated prompt tokens on one candidate, with its provider's tokenizer
   * (what that provider would bill). Falls back to promptTokens when absent.
   */
  promptTokensOf?(candidate: Candidate): number
  /** max_tokens / max_completion_tokens when given. */
  maxOutputTokens?: number
  /**
   * The completion every candidate is priced with, computed once per request
   * over all the model's deployments (lib/strategies/expected-completion.ts).
   * When absent the cost strategy computes it over the candidates.
   */
  expectedCompletion?: ExpectedCompletion
  stream: boolean
  latency(deploymentId: string): LatencyView | undefined
  inFlight(deploymentId: string): number
  /** In [0, 1). Injectable for deterministic tests. */
  random(): number
}

export interface RankedCandidate {
  candidate: Candidate
  score?: number
  /** Human readable explanation of the rank. */
  reason: string
}

export interface Strategy {
  name: StrategyName
  rank(candidates: Candidate[], signals: RoutingSignals): RankedCandidate[]
}

/**
 * Comparator by declared position, then by id so the order is total and does
 * not depend on the order the caller passed the candidates in.
 */
export function byPosition(a: Candidate, b: Candidate): number {
  if (a.position !== b.position) return a.position - b.position
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

export type ExpectedCompletionSource = 'max_tokens' | 'model-mean' | 'default'

/** The completion length a request is expected to produce (lib/strategies/expected-completion.ts). */
export interface ExpectedCompletion {
  tokens: number
  source: ExpectedCompletionSource
  /** Samples behind a model-mean. */
  samples?: number
}
