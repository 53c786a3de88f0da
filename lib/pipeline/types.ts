// The request pipeline's vocabulary: what a transport hands in, the typed
// context every stage reads and fills, the stage contracts, and what comes
// out. No Fastify here: the HTTP routes, the embedded plugin and direct mode
// all speak these types. The order the stages run in is in pipeline.ts.
import type { KeyIdentity } from '../keys/keys.js'
import type { ChatCompletionRequest, EmbeddingsRequest, Usage } from '../openai/types.js'
import type { Operation } from '../providers/types.js'
import type { DeploymentEntry, ModelEntry, ResolvedVia } from '../routing/table.js'
import type { RoutingPlan } from '../routing/planner.js'
import type { GatewayError } from '../errors.js'
import type { AttemptRecord, FallbackPlan, NativeJob, Outcome, ProxyResponse } from '../proxy/types.js'
import type { UsageSource } from '../proxy/usage.js'
import type { CancelSignal } from '../proxy/cancel.js'

export type { UsageSource }

/** Where a request came in: one per public API surface. */
export type EntryPoint = 'chat' | 'embeddings' | 'estimate' | 'messages' | 'responses' | 'completions'

export type Headers = Readonly<Record<string, string | string[] | undefined>>

/** What a transport (an HTTP route, a direct call) hands the pipeline. */
export interface PipelineRequest {
  id: string
  entryPoint: EntryPoint
  operation: Operation
  /** Stage 1, identity: the caller, already authenticated by the transport. */
  identity: KeyIdentity
  /** The request in the canonical (OpenAI) shape. */
  body: ChatCompletionRequest | EmbeddingsRequest
  /** The body's exact bytes when the client sent the canonical shape, for byte-for-byte forwarding. */
  raw?: string
  stream: boolean
  /** The client asked for the final usage chunk (stream_options.include_usage). */
  includeUsage: boolean
  headers: Headers
  /** Aborted when the caller goes away; absent when it cannot. */
  signal?: CancelSignal
  /** performance.now() when the request arrived, for the overhead figure. */
  startedAt: number
  /** Headers to send upstream on every attempt (trace context, a client's beta flags). */
  upstreamHeaders?: Record<string, string>
  /**
   * The request in the client's own API (Anthropic Messages, legacy
   * completions), sent as is to the deployments whose provider speaks it;
   * `body` is what the others get (lib/proxy/native-relay.ts).
   */
  native?: NativeJob
}

/** What admission reserves against: prompt tokens are counted once, on first use. */
export interface RequestEstimate {
  /** The deployment the estimate is counted on (the model's first enabled one). */
  readonly deployment: DeploymentEntry | undefined
  promptTokens(): number
  /** max_completion_tokens / max_tokens when the request sets one; 0 for embeddings. */
  readonly maxOutputTokens: number | undefined
  readonly chat: boolean
}

/** One request on its way through the stages; each stage fills its part. */
export interface RequestContext extends PipelineRequest {
  /** Unix seconds, the `created` of synthesized responses. */
  created: number
  /** Stage 2: the resolved model. */
  model: ModelEntry
  via: ResolvedVia
  estimate: RequestEstimate
  /** Stage 4. */
  plan?: RoutingPlan
  /** Headers a stage wants on the answer (x-ratelimit-*); created by the first that sets one. */
  responseHeaders?: Record<string, string>
  /** The gateway's own time until the answer was ready (excluding upstream waits). */
  overheadMs?: number
  /** Streams: from arrival to the first byte ready for the client. */
  firstByteMs?: number
  /** The request's trace (32 hex), when tracing is on. */
  traceId?: string
}


export type { Outcome }

// ---------------------------------------------------------------------------
// Stages, in the order they run (see pipeline.ts).

/** Stage 2: the requested model's routing entry, and whether the caller may use it. */
export interface ResolveStage {
  /** Throws model_not_found or model_not_allowed. */
  resolve(request: PipelineRequest): { model: ModelEntry; via: ResolvedVia }
  /** The same permission rule, for models reached later (rules, fallbacks). */
  allowed(identity: KeyIdentity, model: ModelEntry): boolean
}

/** What an admission stage holds for a request until its outcome is known. */
export interface Reservation {
  /** The request ended: replace the reservation with what it really used. */
  settle(outcome: Outcome): void
  /** The request never ran (a later stage refused it): give it back. */
  release(): void
}

/** Stage 3: a check that may refuse the request (throws) and may reserve something. */
export interface AdmissionStage {
  readonly name: string
  admit(ctx: RequestContext): Promise<Reservation | undefined> | Reservation | undefined
}

/** Stage 4: ranks the deployments. */
export interface PlanStage {
  /** For a run, throws when nothing can take the request; a preview returns the (maybe empty) plan. */
  plan(ctx: RequestContext, mode: 'run' | 'preview'): RoutingPlan
  /** The ranked deployments of a fallback model; undefined when it cannot be used. */
  fallback(ctx: RequestContext, modelName: string): FallbackPlan | undefined
}

/** How the attempts stage reports back; each is called from inside it. */
export interface AttemptReport {
  /** After every upstream attempt. */
  attempt(record: AttemptRecord): void
  /** Exactly once, when the request's outcome is known (for a stream: when it ends). */
  outcome(outcome: Outcome): void
}

/** Stage 5: tries the plan's deployments (gates, retries, fallbacks). */
export interface AttemptsStage {
  run(ctx: RequestContext, plan: RoutingPlan, report: AttemptReport): Promise<ProxyResponse>
}

/** Stage 6: sees every attempt and outcome; never refuses, never slows the answer. */
export interface PipelineObserver {
  readonly name: string
  /** Admitted and planned, about to be sent: may add ctx.upstreamHeaders (trace context). */
  onStart?(ctx: RequestContext): void
  onAttempt?(ctx: RequestContext, attempt: AttemptRecord): void
  onOutcome?(ctx: RequestContext, outcome: Outcome): void
  /** A stage refused the request before any attempt (stage: its name). */
  onRefusal?(request: PipelineRequest, error: GatewayError, stage: string): void
}

export interface PipelineStages {
  resolve: ResolveStage
  /** Builds the estimate admission and plan read (token counting is lazy). */
  estimate(request: PipelineRequest, model: ModelEntry): RequestEstimate
  admission: readonly AdmissionStage[]
  plan: PlanStage
  attempts: AttemptsStage
  observers: readonly PipelineObserver[]
  /** Reports an observer's or a settlement's failure; the request goes on. */
  onError?(error: unknown, where: string): void
}
