// OpenTelemetry spans (lib/observability/tracing.ts): a server span per
// request, continuing the client's W3C traceparent and handed on to the
// upstream; a child span per upstream attempt (created when it ends, with
// its real start time). A failed attempt's span is ended when the next
// attempt (or the outcome) says what followed it: retried, failed over, or
// nothing (failed); its end time is the attempt's own.
import type { AttemptSpanEnd, Span, Tracing } from '../../observability/tracing.js'
import type { AttemptRecord } from '../../proxy/types.js'
import { modelLabelOf } from '../../observability/labels.js'
import { operationOf } from '../../observability/semconv.js'
import type { RoutingTable } from '../../routing/table.js'
import type { PipelineObserver, PipelineRequest, RequestContext } from '../types.js'
import { serverOfDeployment, tokenUsageOf } from './metrics.js'

/** Epoch ms of a performance.now() reading. */
const epochOf = (perfMs: number) => Date.now() - (performance.now() - perfMs)

export function createTracingObserver(tracing: Tracing, table: () => RoutingTable): PipelineObserver {
  const spans = new WeakMap<PipelineRequest, Span>()
  const attemptCount = new WeakMap<RequestContext, number>()
  const unresolved = new WeakMap<RequestContext, { span: Span; record: AttemptRecord; end: AttemptSpanEnd }>()
  const settlePrevious = (ctx: RequestContext, next: AttemptRecord | undefined) => {
    const prev = unresolved.get(ctx)
    if (!prev) return
    unresolved.delete(ctx)
    const outcome = !next ? 'failed' : next.deployment.id === prev.record.deployment.id ? 'retried' : 'failed_over'
    tracing.endAttemptSpan(prev.span, { ...prev.end, outcome })
  }
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
      settlePrevious(ctx, r)
      const attempt = (attemptCount.get(ctx) ?? 0) + 1
      attemptCount.set(ctx, attempt)
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
        attempt,
        retry: r.retry,
        model: r.deployment.model,
        fallbackFrom: r.deployment.model !== ctx.model.name && !ctx.model.pattern ? modelLabelOf(ctx.model) : undefined,
        stream: r.stream,
        startTime: end - r.totalMs,
      })
      const ended: AttemptSpanEnd = {
        outcome: r.refused ? 'breaker_refused' : r.ok ? 'ok' : r.failure === 'timeout' ? 'timed_out' : 'failed',
        status: r.status,
        errorType: r.ok ? undefined : (r.error ?? r.failure),
        responseModel: r.deployment.upstreamModel,
        usage: tokenUsageOf(r.usage),
        finishReasons: r.finishReasons,
        ttftMs: r.ttftMs,
        endTime: end,
      }
      // What follows a plain failure is known at the next attempt or the outcome.
      if (ended.outcome === 'failed' && !r.clientClosed) unresolved.set(ctx, { span, record: r, end: ended })
      else tracing.endAttemptSpan(span, ended)
    },
    onOutcome(ctx, o) {
      settlePrevious(ctx, undefined)
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
