// OpenTelemetry traces in the GenAI vocabulary: a server span per request
// (named "{gen_ai.operation.name} {model}"), a client span per upstream
// attempt under it, exported over OTLP/HTTP (JSON) in batches.
//
// Active only when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-specific
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: otherwise createTracing returns
// undefined and nothing is created, so the cost of tracing off is one
// `tracing?.` check. No global provider or context manager is registered:
// spans are parented explicitly, so two gateways in one process (and tests)
// stay apart. The client's W3C traceparent is the request span's parent, and
// injectHeaders() carries the trace on to the upstream.
//
// Message content is recorded only with captureContent
// (observability.tracing.captureContent: true); prompts and completions may
// hold personal data.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, defaultTextMapGetter, defaultTextMapSetter, type Attributes, type AttributeValue, type Span, type Tracer } from '@opentelemetry/api'
import { W3CTraceContextPropagator, parseKeyPairsIntoRecord } from '@opentelemetry/core'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type BufferConfig,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'
import {
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_STREAM,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
  providerNameOf,
} from './semconv.js'
import type { AttemptOutcome, TokenUsage } from './types.js'

export type { Span } from '@opentelemetry/api'

type Env = Record<string, string | undefined>
type HeaderBag = Readonly<Record<string, string | string[] | undefined>>

export interface TracingOptions {
  /** Record prompts and completions (gen_ai.input.messages / gen_ai.output.messages). Default false. */
  captureContent?: boolean
  serviceVersion?: string
  /** Replaces the OTLP exporter (tests). */
  exporter?: SpanExporter
  /** BatchSpanProcessor settings (default: the SDK's: 512 spans per export, every 5 s, 2,048 queued). */
  batch?: BufferConfig
  /** Configuration problems worth a log line (never secrets). */
  onWarning?(message: string): void
}

export interface RequestSpanStart {
  /** gen_ai.operation.name: "chat", "embeddings", "text_completion" (see operationOf). */
  operation: string
  /** The model label in the span name (configured name or route pattern: low cardinality). */
  model: string
  /** gen_ai.request.model: the model as the client asked for it (default: model). */
  requestedModel?: string
  /** The client's request headers: traceparent / tracestate are honoured. */
  headers?: HeaderBag
  entryPoint?: string
  requestId?: string
  stream?: boolean
  /** The request's messages; recorded only with captureContent. */
  input?: unknown
  /** When the request arrived (epoch ms or performance.now()); default now. */
  startTime?: number
}

export interface RequestSpanEnd {
  status: number
  /** Low-cardinality error identifier (error code, failure kind) when it failed. */
  errorType?: string
  deploymentId?: string
  providerType?: string
  responseModel?: string
  usage?: TokenUsage
  costUsd?: number
  attempts?: number
  /** Label of the fallback model that answered. */
  fallbackTo?: string
  finishReasons?: string[]
  ttftMs?: number
  overheadMs?: number
  /** The answer's messages; recorded only with captureContent. */
  output?: unknown
  endTime?: number
}

export interface AttemptSpanStart {
  operation: string
  /** The deployment's upstream model id: gen_ai.request.model of the call. */
  upstreamModel: string
  providerType: string
  provider?: string
  deploymentId: string
  /** The real upstream (server.address / server.port). */
  serverAddress?: string
  serverPort?: number
  /** 1 for the request's first attempt. */
  attempt?: number
  /** 0 for a deployment's first try, n for its n-th retry. */
  retry?: number
  /** Set when this attempt serves a fallback model: the label of the model it falls back from. */
  fallbackFrom?: string
  /** Label of the model this attempt serves. */
  model?: string
  stream?: boolean
  startTime?: number
}

export interface AttemptSpanEnd {
  outcome: AttemptOutcome
  /** Upstream HTTP status; 0 when no response arrived. */
  status?: number
  errorType?: string
  responseModel?: string
  responseId?: string
  usage?: TokenUsage
  finishReasons?: string[]
  ttftMs?: number
  endTime?: number
}

export interface Tracing {
  readonly captureContent: boolean
  startRequestSpan(input: RequestSpanStart): Span
  endRequestSpan(span: Span, end: RequestSpanEnd): void
  startAttemptSpan(parent: Span, input: AttemptSpanStart): Span
  endAttemptSpan(span: Span, end: AttemptSpanEnd): void
  /** Writes traceparent (and tracestate) of `span` into `headers` for the upstream call; returns headers. */
  injectHeaders<H extends Record<string, string>>(span: Span, headers: H): H
  /** The trace id (32 hex) of a span, for the access log. */
  traceIdOf(span: Span): string
  /** Exports what is queued. */
  forceFlush(): Promise<void>
  /** Exports what is queued and stops. */
  shutdown(): Promise<void>
}

/** The OTLP/HTTP traces URL from the standard variables; undefined when tracing is off. */
export function tracesEndpoint(env: Env): string | undefined {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return undefined
  if ((env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none') return undefined
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()
  if (specific) return specific
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()
  if (!base) return undefined
  // Spec: the signal path is appended to the generic endpoint.
  return `${base.replace(/\/+$/, '')}/v1/traces`
}

/** The sampler named by OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on). */
export function samplerFromEnv(env: Env, warn: (m: string) => void = () => {}): Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase()
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim()
  const ratio = () => {
    const r = arg ? Number(arg) : 1
    if (Number.isFinite(r) && r >= 0 && r <= 1) return r
    warn(`OTEL_TRACES_SAMPLER_ARG="${arg}" is not a ratio in [0, 1]; using 1`)
    return 1
  }
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler()
    case 'always_off':
      return new AlwaysOffSampler()
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio())
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() })
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) })
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() })
    default:
      warn(`OTEL_TRACES_SAMPLER="${name}" is not supported; using parentbased_always_on`)
      return new ParentBasedSampler({ root: new AlwaysOnSampler() })
  }
}

const MAX_MODEL_ATTRIBUTE = 256

/** Sets an attribute unless it is unset or empty (per-request path: no intermediate objects). */
function put(a: Attributes, key: string, v: AttributeValue | undefined): void {
  if (v !== undefined && v !== '') a[key] = v
}

function putUsage(a: Attributes, u: TokenUsage | undefined): void {
  if (!u) return
  a[ATTR_GEN_AI_USAGE_INPUT_TOKENS] = u.inputTokens
  a[ATTR_GEN_AI_USAGE_OUTPUT_TOKENS] = u.outputTokens
  if (u.cacheReadTokens) a[ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = u.cacheReadTokens
  if (u.cacheWriteTokens) a[ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = u.cacheWriteTokens
  if (u.reasoningTokens) a[ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = u.reasoningTokens
}

function contentOf(value: unknown): string | undefined {
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : JSON.stringify(value)
}

export function createTracing(env: Env, options: TracingOptions = {}): Tracing | undefined {
  const url = tracesEndpoint(env)
  if (!url && !options.exporter) return undefined
  const warn = options.onWarning ?? (() => {})

  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim()
  if (protocol && protocol !== 'http/json') warn(`OTEL_EXPORTER_OTLP_PROTOCOL="${protocol}" is not supported: traces are sent as OTLP/HTTP JSON`)
  const headerText = env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS
  const timeout = Number(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT)
  const exporter =
    options.exporter ??
    new OTLPTraceExporter({
      url,
      headers: headerText ? parseKeyPairsIntoRecord(headerText) : undefined,
      timeoutMillis: Number.isFinite(timeout) && timeout > 0 ? timeout : undefined,
    })

  const resourceAttributes = env.OTEL_RESOURCE_ATTRIBUTES ? parseKeyPairsIntoRecord(env.OTEL_RESOURCE_ATTRIBUTES) : {}
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      ...resourceAttributes,
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME?.trim() || resourceAttributes[ATTR_SERVICE_NAME] || 'switchyard',
      ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
    }),
    sampler: samplerFromEnv(env, warn),
    spanProcessors: [new BatchSpanProcessor(exporter, options.batch)],
  })
  const tracer: Tracer = provider.getTracer('switchyard', options.serviceVersion)
  const propagator = new W3CTraceContextPropagator()
  const captureContent = options.captureContent === true

  return {
    captureContent,

    startRequestSpan(input) {
      const parent = input.headers ? propagator.extract(ROOT_CONTEXT, input.headers, defaultTextMapGetter) : ROOT_CONTEXT
      const attributes: Attributes = {}
      put(attributes, ATTR_GEN_AI_OPERATION_NAME, input.operation)
      put(attributes, ATTR_GEN_AI_REQUEST_MODEL, (input.requestedModel ?? input.model).slice(0, MAX_MODEL_ATTRIBUTE))
      put(attributes, ATTR_GEN_AI_REQUEST_STREAM, input.stream)
      put(attributes, 'switchyard.entry_point', input.entryPoint)
      put(attributes, 'switchyard.request_id', input.requestId)
      put(attributes, 'switchyard.model', input.model)
      if (captureContent) {
        const content = contentOf(input.input)
        if (content !== undefined) attributes[ATTR_GEN_AI_INPUT_MESSAGES] = content
      }
      return tracer.startSpan(`${input.operation} ${input.model}`, { kind: SpanKind.SERVER, attributes, startTime: input.startTime }, parent)
    },

    endRequestSpan(span, end) {
      // An unsampled span records nothing: skip building its attributes.
      if (!span.isRecording()) return span.end(end.endTime)
      const a: Attributes = {}
      put(a, 'http.response.status_code', end.status)
      put(a, ATTR_GEN_AI_PROVIDER_NAME, providerNameOf(end.providerType))
      put(a, ATTR_GEN_AI_RESPONSE_MODEL, end.responseModel)
      put(a, ATTR_GEN_AI_RESPONSE_FINISH_REASONS, end.finishReasons)
      put(a, 'switchyard.deployment.id', end.deploymentId)
      put(a, 'switchyard.attempts', end.attempts)
      put(a, 'switchyard.fallback.to', end.fallbackTo)
      put(a, 'switchyard.cost_usd', end.costUsd)
      put(a, 'switchyard.ttft_ms', end.ttftMs)
      put(a, 'switchyard.overhead_ms', end.overheadMs)
      putUsage(a, end.usage)
      if (captureContent) put(a, ATTR_GEN_AI_OUTPUT_MESSAGES, contentOf(end.output))
      // Server spans: only 5xx are the gateway's errors (OpenTelemetry HTTP conventions).
      if (end.status >= 500 || end.status === 0) {
        a[ATTR_ERROR_TYPE] = end.errorType ?? String(end.status)
        span.setStatus({ code: SpanStatusCode.ERROR })
      } else {
        put(a, ATTR_ERROR_TYPE, end.errorType)
      }
      span.setAttributes(a)
      span.end(end.endTime)
    },

    startAttemptSpan(parent, input) {
      const attributes: Attributes = {}
      put(attributes, ATTR_GEN_AI_OPERATION_NAME, input.operation)
      put(attributes, ATTR_GEN_AI_PROVIDER_NAME, providerNameOf(input.providerType))
      put(attributes, ATTR_GEN_AI_REQUEST_MODEL, input.upstreamModel)
      put(attributes, ATTR_GEN_AI_REQUEST_STREAM, input.stream)
      put(attributes, ATTR_SERVER_ADDRESS, input.serverAddress)
      put(attributes, ATTR_SERVER_PORT, input.serverAddress ? input.serverPort : undefined)
      put(attributes, 'switchyard.deployment.id', input.deploymentId)
      put(attributes, 'switchyard.provider', input.provider)
      put(attributes, 'switchyard.model', input.model)
      put(attributes, 'switchyard.attempt', input.attempt)
      put(attributes, 'switchyard.retry', input.retry)
      put(attributes, 'switchyard.fallback.from', input.fallbackFrom)
      const ctx = trace.setSpan(ROOT_CONTEXT, parent)
      return tracer.startSpan(`${input.operation} ${input.upstreamModel}`, { kind: SpanKind.CLIENT, attributes, startTime: input.startTime }, ctx)
    },

    endAttemptSpan(span, end) {
      if (!span.isRecording()) return span.end(end.endTime)
      const a: Attributes = {}
      put(a, 'switchyard.attempt.outcome', end.outcome)
      put(a, 'http.response.status_code', end.status || undefined)
      put(a, ATTR_GEN_AI_RESPONSE_MODEL, end.responseModel)
      put(a, ATTR_GEN_AI_RESPONSE_ID, end.responseId)
      put(a, ATTR_GEN_AI_RESPONSE_FINISH_REASONS, end.finishReasons)
      put(a, 'switchyard.ttft_ms', end.ttftMs)
      putUsage(a, end.usage)
      if (end.outcome !== 'ok') {
        // What the pipeline did next, as an event on the failed attempt.
        if (end.outcome === 'retried') span.addEvent('switchyard.retry')
        else if (end.outcome === 'failed_over') span.addEvent('switchyard.failover')
        a[ATTR_ERROR_TYPE] = end.errorType ?? (end.status ? String(end.status) : end.outcome)
        span.setStatus({ code: SpanStatusCode.ERROR })
      }
      span.setAttributes(a)
      span.end(end.endTime)
    },

    injectHeaders(span, headers) {
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter)
      return headers
    },

    traceIdOf(span) {
      return span.spanContext().traceId
    },

    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  }
}
