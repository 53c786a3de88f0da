// What the proxy engine takes and gives: jobs, responses, and the records
// observers receive for every attempt and outcome.
import type { Readable } from 'node:stream'
import type { Usage } from '../openai/types.js'
import type { DeploymentEntry, ModelEntry, ProviderEntry, RoutingTable } from '../routing/table.js'
import type { Endpoint, Operation, ProviderSettings } from '../providers/types.js'
import type { GatewayError } from '../errors.js'
import type { SseEvent } from '../sse.js'
import type { FailureKind } from '../resilience/classify.js'
import type { Pools } from './pools.js'
import type { UsageSource } from './usage.js'
import type { CancelSignal } from './cancel.js'

export interface AttemptRecord {
  requestId: string
  deployment: DeploymentEntry
  operation: Operation
  stream: boolean
  ok: boolean
  /** Upstream HTTP status; 0 when no response arrived (connection error, timeout). */
  status: number
  totalMs: number
  ttftMs?: number
  usage?: Usage
  /** 'estimate' when the upstream gave no usage and the gateway counted it (lib/proxy/usage.ts). */
  usageSource?: UsageSource
  error?: string
  /** True when the client went away; not the deployment's fault. */
  clientClosed?: boolean
  /** How the attempt failed (unset on success). */
  failure?: FailureKind
  /** The failure counts against the deployment (5xx, 429, timeout, connection error, bad response). */
  fault?: boolean
  /** The gate refused the attempt (its circuit is open): no upstream call was made. */
  refused?: string
  /** The attempt was a half-open circuit's probe. */
  probe?: boolean
  /** 0 for a deployment's first attempt, n for its n-th retry. */
  retry?: number
  /** Chat: the finish reasons of the answer's choices (gen_ai.response.finish_reasons). */
  finishReasons?: string[]
}

/** Where the engine reports: every attempt, and the request's one outcome. */
export interface JobReport {
  attempt(record: AttemptRecord): void
  /** Exactly once per job: when the answer is complete (a stream: however it ends) or the job failed. */
  outcome(outcome: Outcome): void
}

export interface EngineOptions {
  pools: Pools
  /** USD cost of a usage on a deployment, when its price is known. */
  costOf?: (deployment: DeploymentEntry, usage: Usage) => number | undefined
  /** Counts attempts in flight per deployment (for least-busy routing and caps). */
  inflight?: { acquire(deploymentId: string): () => void }
  /** Consulted right before every attempt (the circuit breaker, deployment caps). */
  gate?: AttemptGate
  /** [0, 1) source for the backoff jitter; Math.random by default. */
  random?: () => number
  /** Largest non-streamed upstream body read (UPSTREAM_MAX_BODY_BYTES); default 32 MiB. */
  maxBodyBytes?: number
  /** Largest SSE line or event read from an upstream (UPSTREAM_MAX_EVENT_BYTES); default 4 MiB. */
  maxEventBytes?: number
}

/** Lets an attempt through or refuses it (e.g. the deployment's circuit is open). */
export interface AttemptGate {
  admit(deployment: DeploymentEntry): { ok: true; probe?: boolean } | { ok: false; reason: string; retryAt?: number }
}

/** The ranked deployments of a fallback model. */
export interface FallbackPlan {
  model: ModelEntry
  candidates: DeploymentEntry[]
  /** Set when deployments were left out for cooling down: epoch ms when the first reopens. */
  coolingUntil?: number
}

export interface ProxyJob<B> {
  requestId: string
  /** Unix seconds of the request; `created` of synthesized responses. */
  created: number
  body: B
  /** The request body exactly as the client sent it. */
  raw: string
  stream: boolean
  /** The client asked for a usage chunk (stream_options.include_usage). */
  includeUsage: boolean
  model: ModelEntry
  /** Ordered attempt list: first is tried first. */
  candidates: DeploymentEntry[]
  table: RoutingTable
  /** Aborted when the client disconnects; absent when it cannot. */
  signal?: CancelSignal
  /** Sent to the upstream on every attempt (trace context, a client's beta flags); the provider's own headers win. */
  upstreamHeaders?: Record<string, string>
  report: JobReport
  /**
   * Ranks the deployments of one of `model.fallbacks` / `contextWindowFallbacks`;
   * undefined when that model cannot be used. Without it there are no model fallbacks.
   */
  planFallback?: (modelName: string) => FallbackPlan | undefined
  /** Set when deployments of `model` were left out for cooling down: epoch ms when the first reopens. */
  coolingUntil?: number
  /**
   * A front door's own API, for deployments whose provider speaks it: their
   * attempts send the client's body as is (model rewritten) and relay the
   * answer as is. Other deployments get the canonical `body`.
   */
  native?: NativeJob
}

/**
 * The client's request in its own API (Anthropic Messages, the Responses API,
 * legacy completions), for the providers that speak it (lib/proxy/native-relay.ts).
 */
export interface NativeJob {
  /** Whether a deployment of this provider takes the body as sent. */
  accepts(provider: ProviderEntry): boolean
  endpoint(provider: ProviderSettings, upstreamModel: string, stream: boolean): Endpoint
  /** The body to send (the client's, as sent); only `model` is rewritten per deployment. */
  raw: string
  parsed: Record<string, unknown>
  /** Streams: ask the upstream for its usage (stream_options.include_usage; OpenAI-style APIs). */
  streamUsage?: boolean
  /** Sent on native attempts only (a client's anthropic-beta); the provider's own headers win. */
  headers?: Record<string, string>
  /** Usage of a JSON answer, in the canonical shape; undefined when it has none. */
  usage(json: unknown): Usage | undefined
  /** The completion text of a JSON answer without usage, for the gateway's estimate. */
  text(json: unknown): string
  /** A watcher for one streamed answer (one per attempt). */
  watch(): NativeStreamWatcher
  /**
   * Set when the client's request could not be put in the canonical shape
   * (the canonical body is then only good for estimates): attempts on
   * deployments that do not speak the API fail with it, without a call.
   */
  untranslatable?: GatewayError
}

/** What a native stream's watcher makes of one upstream event. */
export interface NativeEventView {
  /** An in-band error: it is relayed as sent (it is in the client's format) and the attempt is recorded as failed. */
  error?: GatewayError
  /** Completion text carried by the event (counted when the stream ends without usage). */
  text?: string
  /** Leave the event out (e.g. a usage chunk the client did not ask for). */
  drop?: boolean
}

/** Watches a native stream as it is relayed: usage, completion, in-band errors. */
export interface NativeStreamWatcher {
  // Events are always relayed re-framed (`event:`/`data:` lines, data as sent): see lib/proxy/native-relay.ts.
  observe(event: SseEvent): NativeEventView | undefined
  /** The upstream's usage so far (canonical shape). */
  readonly usage: Usage | undefined
  /** The upstream signalled the end of the answer (its usage, if any, is final). */
  readonly complete: boolean
  /** The event that ends a committed stream the gateway has to cut, in the client's format. */
  errorEvent(err: GatewayError): string
}

export interface ProxyResponse {
  status: number
  headers: Record<string, string>
  body: Buffer | string | Readable
  deployment: DeploymentEntry
  /** Every attempt made, retries included. */
  attempts: number
  /** Time spent waiting on the upstream (backoff waits included), for the overhead figure. */
  upstreamMs: number
  costUsd?: number
  /** Set when a fallback model answered: its name. */
  fallbackModel?: string
  /** The gateway's own time until the answer was ready (set by the pipeline; the x-switchyard-overhead-ms figure). */
  overheadMs?: number
  /** The answer is in the job's native API (ProxyJob.native), relayed as sent; otherwise it is canonical. */
  native?: boolean
}

/** How a request ended: what observers see and what reservations settle to. */
export interface Outcome {
  status: number
  /** The deployment that answered, or the last one tried. */
  deployment?: DeploymentEntry
  /** Set when a fallback model answered. */
  fallbackModel?: string
  attempts: number
  stream: boolean
  usage?: Usage
  usageSource: UsageSource
  costUsd?: number
  /** An error code when the request failed. */
  error?: string
  /** Streams: time to the first byte of the answer, from the request's arrival (stamped by the pipeline). */
  ttftMs?: number
  /** From the request's arrival to its outcome; stamped by the pipeline. */
  durationMs?: number
  /** The gateway's own time: the x-switchyard-overhead-ms figure (stamped by the pipeline). */
  overheadMs?: number
}
