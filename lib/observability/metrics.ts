// Prometheus metrics of one gateway process, in its own prom-client registry
// (nothing global: two gateways in one process, or a test, do not share
// counters). Fed by plain method calls (onRequest, onAttempt, onRefusal,
// onShed) from the pipeline's observers; gauges that mirror other components'
// state (circuits, in-flight, budgets, writer backlog) are read from
// callbacks when Prometheus scrapes.
//
// The GenAI metrics follow the OpenTelemetry semantic conventions
// (open-telemetry/semantic-conventions-genai, docs/gen-ai/gen-ai-metrics.md)
// under Prometheus names: dots become underscores. The duration histograms
// are in seconds but keep the names the issue gives, without the _seconds
// suffix the strict OpenTelemetry->Prometheus translation would append.
// Label names are the spec's attribute names with dots as underscores.
// Bucket boundaries are the spec's ExplicitBucketBoundaries.
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client'
import { LabelledCounter, LabelledHistogram } from './series.js'
import { LabelGuard, DEFAULT_MAX_LABEL_VALUES, statusClass } from './labels.js'
import { operationOf, providerNameOf } from './semconv.js'
import type { AttemptEvent, MetricsSources, RefusalKind, RequestEvent } from './types.js'

// From gen-ai-metrics.md ("This metric SHOULD be specified with ExplicitBucketBoundaries of ...").
export const TOKEN_USAGE_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
export const REQUEST_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
export const TIME_TO_FIRST_TOKEN_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
export const TIME_PER_OUTPUT_TOKEN_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5]
/** The gateway's own time is sub-millisecond when all is well: buckets from 50 µs. */
export const OVERHEAD_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

export const METRIC_NAMES = {
  tokenUsage: 'gen_ai_client_token_usage',
  requestDuration: 'gen_ai_server_request_duration',
  timeToFirstToken: 'gen_ai_server_time_to_first_token',
  timePerOutputToken: 'gen_ai_server_time_per_output_token',
  requests: 'switchyard_requests_total',
  attempts: 'switchyard_attempts_total',
  fallbacks: 'switchyard_fallbacks_total',
  overhead: 'switchyard_overhead_seconds',
  cost: 'switchyard_cost_usd_total',
  cachedTokens: 'switchyard_cached_tokens_total',
  reasoningTokens: 'switchyard_reasoning_tokens_total',
  estimatedTokens: 'switchyard_estimated_tokens_total',
  refusals: 'switchyard_refusals_total',
  shed: 'switchyard_shed_requests_total',
  circuitState: 'switchyard_circuit_state',
  inflight: 'switchyard_inflight_requests',
  budgetRemaining: 'switchyard_budget_remaining_usd',
  budgetLimit: 'switchyard_budget_limit_usd',
  writerPending: 'switchyard_writer_pending_rows',
  writerDropped: 'switchyard_writer_dropped_rows_total',
  keyRequests: 'switchyard_key_requests_total',
  keyCost: 'switchyard_key_cost_usd_total',
} as const

const GEN_AI_LABELS = [
  'gen_ai_operation_name',
  'gen_ai_provider_name',
  'gen_ai_request_model',
  'gen_ai_response_model',
  'server_address',
  'server_port',
  'deployment',
] as const

const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const

export interface GatewayMetricsOptions {
  /** Per-key series (key names), off unless the operator turns them on (observability.metrics.keyLabels). */
  keyLabels?: boolean
  /** Distinct values per label before new ones become "other" (default 500). */
  maxLabelValues?: number
  /** prom-client's default Node process metrics (default true). */
  defaultMetrics?: boolean
  sources?: MetricsSources
}

export class GatewayMetrics {
  readonly registry = new Registry()
  readonly keyLabels: boolean
  private readonly guard: LabelGuard
  private sources: MetricsSources

  // Hot path: label values are positional, in the order of each labelNames list.
  private readonly tokenUsage = new LabelledHistogram(
    METRIC_NAMES.tokenUsage,
    'Number of input and output tokens used (OpenTelemetry gen_ai.client.token.usage).',
    [...GEN_AI_LABELS, 'gen_ai_token_type'],
    TOKEN_USAGE_BUCKETS,
  )
  private readonly requestDuration = new LabelledHistogram(
    METRIC_NAMES.requestDuration,
    'Request duration at the gateway, to the last byte (OpenTelemetry gen_ai.server.request.duration).',
    [...GEN_AI_LABELS, 'error_type'],
    REQUEST_DURATION_BUCKETS,
  )
  private readonly timeToFirstToken = new LabelledHistogram(
    METRIC_NAMES.timeToFirstToken,
    'Time to the first content chunk of successful streams (OpenTelemetry gen_ai.server.time_to_first_token).',
    GEN_AI_LABELS,
    TIME_TO_FIRST_TOKEN_BUCKETS,
  )
  private readonly timePerOutputToken = new LabelledHistogram(
    METRIC_NAMES.timePerOutputToken,
    'Time per output token after the first, successful streams (OpenTelemetry gen_ai.server.time_per_output_token).',
    GEN_AI_LABELS,
    TIME_PER_OUTPUT_TOKEN_BUCKETS,
  )
  private readonly requests = new LabelledCounter(METRIC_NAMES.requests, 'Requests answered, by entry point, requested model and status class.', [
    'entry_point',
    'model',
    'status_class',
  ])
  private readonly attempts = new LabelledCounter(
    METRIC_NAMES.attempts,
    'Upstream attempts by deployment and outcome (ok, retried, failed_over, timed_out, breaker_refused, failed).',
    ['deployment', 'provider', 'model', 'outcome'],
  )
  private readonly fallbacks = new LabelledCounter(
    METRIC_NAMES.fallbacks,
    'Requests answered by a fallback model, by requested model (from) and answering model (to).',
    ['from', 'to'],
  )
  private readonly overhead = new LabelledHistogram(
    METRIC_NAMES.overhead,
    "The gateway's own time per request (x-switchyard-overhead-ms), in seconds.",
    ['entry_point', 'deployment'],
    OVERHEAD_BUCKETS,
  )
  private readonly cost = new LabelledCounter(METRIC_NAMES.cost, 'Spend in USD, as recorded in the usage records, by model, deployment and tenant.', [
    'model',
    'deployment',
    'tenant',
  ])
  private readonly cachedTokens = new LabelledCounter(METRIC_NAMES.cachedTokens, 'Prompt-cache input tokens, read or written.', ['model', 'deployment', 'cache'])
  private readonly reasoningTokens = new LabelledCounter(METRIC_NAMES.reasoningTokens, 'Output tokens spent on reasoning.', ['model', 'deployment'])
  private readonly estimatedTokens = new LabelledCounter(
    METRIC_NAMES.estimatedTokens,
    'Tokens the gateway counted itself because the upstream reported no usage.',
    ['model', 'deployment', 'gen_ai_token_type'],
  )
  private readonly refusals = new LabelledCounter(METRIC_NAMES.refusals, 'Requests refused by rate limits, budgets or deployment caps, by kind.', ['kind'])
  private readonly shed = new LabelledCounter(METRIC_NAMES.shed, 'Requests refused by load shedding (503 overloaded).', [])
  private readonly keyRequests?: LabelledCounter
  private readonly keyCost?: LabelledCounter

  constructor(options: GatewayMetricsOptions = {}) {
    this.keyLabels = options.keyLabels === true
    this.guard = new LabelGuard(options.maxLabelValues ?? DEFAULT_MAX_LABEL_VALUES)
    this.sources = options.sources ?? {}
    const registers = [this.registry]
    const self = this

    if (this.keyLabels) {
      this.keyRequests = new LabelledCounter(METRIC_NAMES.keyRequests, 'Requests by gateway key name and status class (observability.metrics.keyLabels).', [
        'key',
        'status_class',
      ])
      this.keyCost = new LabelledCounter(METRIC_NAMES.keyCost, 'Spend in USD by gateway key name (observability.metrics.keyLabels).', ['key'])
    }
    for (const metric of [
      this.tokenUsage,
      this.requestDuration,
      this.timeToFirstToken,
      this.timePerOutputToken,
      this.requests,
      this.attempts,
      this.fallbacks,
      this.overhead,
      this.cost,
      this.cachedTokens,
      this.reasoningTokens,
      this.estimatedTokens,
      this.refusals,
      this.shed,
      this.keyRequests,
      this.keyCost,
    ]) {
      // prom-client's Registry takes any object with its metric interface.
      if (metric) this.registry.registerMetric(metric as unknown as Metric)
    }
    this.shed.inc([], 0) // a label-less counter shows 0 from the start

    new Gauge({
      name: METRIC_NAMES.circuitState,
      help: 'Circuit-breaker state per deployment: 1 for the current state, 0 for the others.',
      labelNames: ['deployment', 'state'],
      registers,
      collect() {
        this.reset()
        const { deployments, circuitState } = self.sources
        if (!deployments || !circuitState) return
        for (const d of deployments()) {
          const state = circuitState(d.id) ?? 'closed'
          const deployment = self.guard.value('deployment', d.id)
          for (const s of CIRCUIT_STATES) this.set({ deployment, state: s }, s === state ? 1 : 0)
        }
      },
    })
    new Gauge({
      name: METRIC_NAMES.inflight,
      help: 'Upstream requests in flight per deployment (this instance).',
      labelNames: ['deployment'],
      registers,
      collect() {
        this.reset()
        const { deployments, inflight } = self.sources
        if (!deployments || !inflight) return
        for (const d of deployments()) this.set({ deployment: self.guard.value('deployment', d.id) }, inflight(d.id))
      },
    })
    const budgetLabels = ['scope', 'name', 'window']
    const budgetEntries = () => {
      const all = self.sources.budgets?.() ?? []
      // Key names are labels only when the operator turned key labels on.
      return self.keyLabels ? all : all.filter((b) => b.scope !== 'key')
    }
    new Gauge({
      name: METRIC_NAMES.budgetRemaining,
      help: 'Budget left in the current period (limit - spent - reserved), per key name and tenant with a budget.',
      labelNames: budgetLabels,
      registers,
      collect() {
        this.reset()
        for (const b of budgetEntries()) {
          this.set({ scope: b.scope, name: self.guard.value(`budget_${b.scope}`, b.name), window: b.window }, b.limitUsd - b.spentUsd - b.reservedUsd)
        }
      },
    })
    new Gauge({
      name: METRIC_NAMES.budgetLimit,
      help: 'Budget limit of the current period, per key name and tenant with a budget.',
      labelNames: budgetLabels,
      registers,
      collect() {
        this.reset()
        for (const b of budgetEntries()) {
          this.set({ scope: b.scope, name: self.guard.value(`budget_${b.scope}`, b.name), window: b.window }, b.limitUsd)
        }
      },
    })
    new Gauge({
      name: METRIC_NAMES.writerPending,
      help: 'Rows waiting in a background writer buffer.',
      labelNames: ['writer'],
      registers,
      collect() {
        this.reset()
        for (const w of self.sources.writers?.() ?? []) this.set({ writer: w.name }, w.pending)
      },
    })
    new Counter({
      name: METRIC_NAMES.writerDropped,
      help: 'Rows a background writer dropped because its buffer was full (database unavailable too long).',
      labelNames: ['writer'],
      registers,
      collect() {
        this.reset()
        for (const w of self.sources.writers?.() ?? []) this.inc({ writer: w.name }, w.dropped)
      },
    })

    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry })
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** The exposition text (callbacks are read now). */
  metrics(): Promise<string> {
    return this.registry.metrics()
  }

  /** Sets or replaces the scrape-time callbacks (they may come from plugins registered later). */
  setSources(sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources }
  }

  onAttempt(e: AttemptEvent): void {
    const g = this.guard
    this.attempts.inc([g.value('deployment', e.deploymentId), g.value('provider', e.provider), g.value('model', e.modelLabel), e.outcome])
  }

  onRequest(e: RequestEvent): void {
    const g = this.guard
    const model = g.value('model', e.modelLabel)
    const deployment = g.value('deployment', e.deploymentId)
    const status = statusClass(e.status)
    this.requests.inc([e.entryPoint, model, status])
    if (e.fallbackTo) this.fallbacks.inc([model, g.value('model', e.fallbackTo)])
    if (e.overheadMs !== undefined && e.overheadMs >= 0) this.overhead.observe([e.entryPoint, deployment], e.overheadMs / 1000)
    // Every request's cost is counted, as its usage record is, so the two sums agree.
    const cost = e.costUsd !== undefined && e.costUsd > 0 ? e.costUsd : 0
    this.cost.inc([model, deployment, g.value('tenant', e.tenant)], cost)

    if (this.keyRequests && this.keyCost) {
      const key = g.value('key', e.keyName)
      this.keyRequests.inc([key, status])
      if (cost > 0) this.keyCost.inc([key], cost)
    }

    const u = e.usage
    if (u) {
      if (u.cacheReadTokens) this.cachedTokens.inc([model, deployment, 'read'], u.cacheReadTokens)
      if (u.cacheWriteTokens) this.cachedTokens.inc([model, deployment, 'write'], u.cacheWriteTokens)
      if (u.reasoningTokens) this.reasoningTokens.inc([model, deployment], u.reasoningTokens)
      if (e.usageSource === 'estimate') {
        this.estimatedTokens.inc([model, deployment, 'input'], u.inputTokens)
        this.estimatedTokens.inc([model, deployment, 'output'], u.outputTokens)
      }
    }

    const operation = operationOf(e.entryPoint)
    if (!operation) return // no model call (estimate): no GenAI metrics
    // gen_ai_request_model is what the client asked for (as on every Switchyard
    // metric); which deployment and model answered is in deployment and
    // gen_ai_response_model. Order: GEN_AI_LABELS.
    const labels: Array<string | number> = [
      operation,
      g.value('gen_ai_provider_name', providerNameOf(e.providerType)),
      model,
      g.value('gen_ai_response_model', e.responseModel),
      g.value('server_address', e.serverAddress),
      e.serverAddress && e.serverPort ? e.serverPort : '',
      deployment,
    ]
    const ok = e.status >= 200 && e.status < 400
    this.requestDuration.observe([...labels, ok ? '' : g.value('error_type', e.errorType ?? String(e.status))], e.durationMs / 1000)
    if (u && e.usageSource !== 'none') {
      this.tokenUsage.observe([...labels, 'input'], u.inputTokens)
      this.tokenUsage.observe([...labels, 'output'], u.outputTokens)
    }
    if (ok && e.stream && e.ttftMs !== undefined) {
      this.timeToFirstToken.observe(labels, e.ttftMs / 1000)
      // Spec: (duration - time to first token) / (output tokens after the first).
      if (u && u.outputTokens > 1 && e.durationMs >= e.ttftMs) {
        this.timePerOutputToken.observe(labels, (e.durationMs - e.ttftMs) / 1000 / (u.outputTokens - 1))
      }
    }
  }

  onRefusal(kind: RefusalKind): void {
    this.refusals.inc([this.guard.value('refusal_kind', kind)])
  }

  onShed(): void {
    this.shed.inc([])
  }
}
