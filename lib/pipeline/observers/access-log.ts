// One access-log line per request that ran the pipeline (the field names are
// lib/observability/access-log.ts's and documented in README), written when
// its outcome is known or when a stage refused it. Never secrets.
import { accessLogLine, type AccessLogLine } from '../../observability/access-log.js'
import type { PipelineObserver, PipelineRequest, RequestContext } from '../types.js'
import { refusalKindOf, tokenUsageOf } from './metrics.js'

/**
 * `enabled` is asked per request (the log level can change at run time): when
 * the line would be dropped anyway (LOG_LEVEL above info) it is not built,
 * which was about 1 % of the request thread.
 */
export function createAccessLogObserver(write: (line: AccessLogLine) => void, enabled: () => boolean = () => true): PipelineObserver {
  return {
    name: 'access-log',
    onOutcome(ctx, o) {
      if (!enabled()) return
      write(
        accessLogLine({
          requestId: ctx.id,
          traceId: ctx.traceId,
          keyName: ctx.identity.name,
          tenant: ctx.identity.tenant ?? undefined,
          entryPoint: ctx.entryPoint,
          requestedModel: ctx.body.model,
          fallbackModel: o.fallbackModel,
          deploymentId: o.deployment?.id,
          provider: o.deployment?.provider,
          stream: o.stream,
          status: o.status,
          attempts: o.attempts,
          usage: tokenUsageOf(o.usage),
          usageSource: o.usageSource,
          costUsd: o.costUsd,
          durationMs: o.durationMs,
          overheadMs: o.overheadMs,
          ttftMs: o.ttftMs,
          errorCode: o.error,
        }),
      )
    },
    onRefusal(request: PipelineRequest, error, stage) {
      if (!enabled()) return
      write(
        accessLogLine({
          requestId: request.id,
          traceId: (request as Partial<RequestContext>).traceId,
          keyName: request.identity.name,
          tenant: request.identity.tenant ?? undefined,
          entryPoint: request.entryPoint,
          requestedModel: typeof request.body?.model === 'string' ? request.body.model : undefined,
          stream: request.stream,
          status: error?.statusCode ?? 500,
          durationMs: performance.now() - request.startedAt,
          refusal: refusalKindOf(error, stage),
          errorCode: error?.code ?? undefined,
        }),
      )
    },
  }
}
