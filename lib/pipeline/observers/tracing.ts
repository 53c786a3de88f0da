// OpenTelemetry spans (lib/observability/tracing.ts): a server span per
// request, continuing the client's W3C traceparent and handed on to the
// upstream; a child span per upstream attempt (created when it ends, with
// its real start time).
import type { Span, Tracing } from '../../observability/tracing.js'
import { modelLabelOf } from '../../observability/labels.js'
import { operationOf } from '../../observability/semconv.js'
import type { RoutingTable } from '../../routing/table.js'
import type { PipelineObserver, PipelineRequest, RequestContext } from '../types.js'
import { serverOfDeployment, tokenUsageOf } from './metrics.js'

/** Epoch ms of a performance.now() reading. */
const epochOf = (perfMs: number) => Date.now() - (performance.now() - perfMs)

export function createTracingObserver(tracing: Tracing, table: () => RoutingTable): PipelineObserver {
  const spans = new WeakMap<PipelineRequest, Span>()
  const begin = (request: PipelineRequest, model: string) => {
    const span = tracing.startRequestSpan({
      operation: operationOf(request.entryPoint) ?? request.entryPoint,
      model,
      requestedModel: request.body.model,
      headers: request.headers,
      entryPoint: request.entryPoint,
      requestId: request.id,
      stream: request.stream,
      input: tracing.captureContent ? (request.body as { messages?: unknown }).messages ?? (request.body as { input?: unknown }).input : undefined,
      startTime: epochOf(request.startedAt),
    })
    spans.set(request, span)
    ;(request as Partial<RequestContext>).traceId = tracing.traceIdOf(span)
    return span
  }

  return {
    name: 'tracing',
    onStart(ctx) {
      const span = begin(ctx, modelLabelOf(ctx.model))
      // The upstream continues the same trace.
      ctx.upstreamHeaders = tracing.injectHeaders(span, { ...ctx.upstreamHeaders })
    },
    onAttempt(ctx, r) {
      const parent = spans.get(ctx)
      if (!parent) return
      const end = Date.now()
      const server = serverOfDeployment(table(), r.deployment)
      const span = tracing.startAttemptSpan(parent, {
        operation: operationOf(ctx.entryPoint) ?? ctx.entryPoint,
        upstreamModel: r.deployment.upstreamModel,
        providerType: r.deployment.providerType,
        provider: r.deployment.provider,
        deploymentId: r.deployment.id,
        serverAddress: server?.address,
        serverPort: server?.port,
        retry: r.retry,
        model: r.deployment.model,
        fallbackFrom: r.deployment.model !== ctx.model.name && !ctx.model.pattern ? modelLabelOf(ctx.model) : undefined,
        stream: r.stream,
        startTime: end - r.totalMs,
      })
      tracing.endAttemptSpan(span, {
        outcome: r.refused ? 'breaker_refused' : r.ok ? 'ok' : r.failure === 'timeout' ? 'timed_out' : 'failed',
        status: r.status,
        errorType: r.ok ? undefined : (r.error ?? r.failure),
        responseModel: r.deployment.upstreamModel,
        usage: tokenUsageOf(r.usage),
        ttftMs: r.ttftMs,
        endTime: end,
      })
    },
    onOutcome(ctx, o) {
      const span = spans.get(ctx)
      if (!span) return
      spans.delete(ctx)
      tracing.endRequestSpan(span, {
        status: o.status,
        errorType: o.error,
        deploymentId: o.deployment?.id,
        providerType: o.deployment?.providerType,
        responseModel: o.deployment?.upstreamModel,
        usage: tokenUsageOf(o.usage),
        costUsd: o.costUsd,
        attempts: o.attempts,
        fallbackTo: o.fallbackModel,
        ttftMs: o.ttftMs,
        overheadMs: o.overheadMs,
      })
    },
    onRefusal(request, error) {
      const model = (request as Partial<RequestContext>).model
      const span = begin(request, modelLabelOf(model))
      spans.delete(request)
      tracing.endRequestSpan(span, { status: error?.statusCode ?? 500, errorType: error?.code ?? undefined })
    },
  }
}
