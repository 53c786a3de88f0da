// What the observers of a request (metrics, spans, the access log) are told.
// Plain objects with bounded fields: the pipeline fills them after each
// attempt and after each request, off the latency path. Model fields are
// *labels* (configured model names, or the pattern of a pattern route),
// never the string a client sent; see modelLabelOf() in labels.ts.

/** Where a request came in: one per public API surface (same values as lib/pipeline). */
export type EntryPoint = 'chat' | 'embeddings' | 'messages' | 'responses' | 'completions' | 'estimate'

/** Where a usage figure came from (same values as lib/pipeline). */
export type UsageSource = 'upstream' | 'estimate' | 'none'

/** How one upstream attempt ended, as the request's life went on after it. */
export type AttemptOutcome =
  /** It answered the request. */
  | 'ok'
  /** It failed and the same deployment was tried again. */
  | 'retried'
  /** It failed and another deployment (or a fallback model) was tried next. */
  | 'failed_over'
  /** It hit a deadline (connect, first byte or total). */
  | 'timed_out'
  /** The deployment's circuit was open: no upstream call was made. */
  | 'breaker_refused'
  /** It failed and nothing was tried after it (the request failed). */
  | 'failed'

/** Why admission refused a request before any attempt. */
export type RefusalKind =
  | 'rate_limit_requests'
  | 'rate_limit_tokens'
  | 'budget_key'
  | 'budget_tenant'
  | 'deployment_cap'
  | 'other'

/** Token counts of one request, in OpenAI's terms. */
export interface TokenUsage {
  inputTokens: number
  outputTokens: number
  /** Input tokens read from the provider's prompt cache. */
  cacheReadTokens?: number
  /** Input tokens written to the provider's prompt cache. */
  cacheWriteTokens?: number
  /** Output tokens spent on reasoning. */
  reasoningTokens?: number
}

export interface AttemptEvent {
  deploymentId: string
  /** Configured provider name (e.g. "openai-eu"). */
  provider: string
  /** Provider type (openai, anthropic, gemini, azure...), for gen_ai.provider.name. */
  providerType?: string
  /** Label of the model this attempt served (the requested one or a fallback). */
  modelLabel: string
  outcome: AttemptOutcome
  durationMs?: number
}

export interface RequestEvent {
  entryPoint: EntryPoint
  /** Label of the model the client asked for (configured name or route pattern). */
  modelLabel: string
  /** Label of the fallback model that answered, when one did. */
  fallbackTo?: string
  /** HTTP status answered to the client. */
  status: number
  stream?: boolean
  /** From arrival to the last byte (or the error). */
  durationMs: number
  /** Streams: from arrival to the first content chunk sent. */
  ttftMs?: number
  /** The gateway's own time: the x-switchyard-overhead-ms figure. */
  overheadMs?: number
  usage?: TokenUsage
  /** Must equal the usage record's costUsd (0 or unset when unpriced). */
  costUsd?: number
  usageSource: UsageSource
  /** The deployment that answered, or the last one tried. */
  deploymentId?: string
  provider?: string
  providerType?: string
  /** Upstream host and port of that deployment (server.address / server.port). */
  serverAddress?: string
  serverPort?: number
  tenant?: string
  /** The gateway key's name (used only when key labels are on). */
  keyName?: string
  /** The answering deployment's configured upstream model id, or its route pattern (never the client's string). */
  responseModel?: string
  /** A low-cardinality error identifier (error code, failure kind or status) when the request failed. */
  errorType?: string
}

/** One configured budget's state (the budgets plugin's report, cached). */
export interface BudgetGaugeEntry {
  scope: 'key' | 'tenant'
  /** Key name or tenant name. */
  name: string
  window: 'daily' | 'monthly'
  limitUsd: number
  spentUsd: number
  reservedUsd: number
}

export type CircuitStateName = 'closed' | 'open' | 'half_open'

/** Read on every scrape: cheap in-memory callbacks, never a database query. */
export interface MetricsSources {
  /** The configured deployments, for the per-deployment gauges. */
  deployments?: () => Iterable<{ id: string }>
  circuitState?: (deploymentId: string) => CircuitStateName | undefined
  inflight?: (deploymentId: string) => number
  /** The last budget report (see CachedValue); undefined until one is loaded. */
  budgets?: () => readonly BudgetGaugeEntry[] | undefined
  /** Background writers' buffers (usage, latency...). */
  writers?: () => Iterable<{ name: string; pending: number; dropped: number }>
}
