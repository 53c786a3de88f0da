// Prometheus metrics (lib/observability/metrics.ts): every attempt with how it
// ended (a failure's fate, retried or failed over, is known at the next
// attempt), every outcome, every refusal. Labels come from the configuration
// (model names or route patterns, deployment ids), never from a client's string.
import type { GatewayMetrics } from '../../observability/metrics.js'
import { modelLabelOf } from '../../observability/labels.js'
import { serverOf } from '../../observability/semconv.js'
import type { AttemptOutcome, RefusalKind, TokenUsage } from '../../observability/types.js'
import type { AttemptRecord } from '../../proxy/types.js'
import type { Usage } from '../../openai/types.js'
import type { DeploymentEntry, RoutingTable } from '../../routing/table.js'
import type { GatewayError } from '../../errors.js'
import type { PipelineObserver, PipelineRequest, RequestContext } from '../types.js'

export function tokenUsageOf(u: Usage | undefined): TokenUsage | undefined {
  if (!u) return undefined
  return {
    inputTokens: u.prompt_tokens ?? 0,
    outputTokens: u.completion_tokens ?? 0,
    cacheReadTokens: Number(u.prompt_tokens_details?.cached_tokens ?? 0) || 0,
    cacheWriteTokens: Number(u.prompt_tokens_details?.cache_write_tokens ?? 0) || 0,
    reasoningTokens: Number(u.completion_tokens_details?.reasoning_tokens ?? 0) || 0,
  }
}

/**
 * What kind of admission refusal a stage's error is; undefined for the
 * resolve stage (an unknown or forbidden model is not a limit's refusal: it
 * shows as a 4xx of model "unresolved" and by its error code).
 */
export function refusalKindOf(error: GatewayError | undefined, stage: string): RefusalKind | undefined {
  if (stage === 'resolve') return undefined
  if (stage === 'rate-limit') return 'rate_limit_requests'
  if (stage === 'token-limit') return 'rate_limit_tokens'
  if (stage === 'budget') return /^tenant /.test(error?.message ?? '') ? 'budget_tenant' : 'budget_key'
  return 'other'
}

/** Where a deployment's provider lives (server.address / server.port). */
export function serverOfDeployment(table: RoutingTable, d: DeploymentEntry | undefined): { address: string; port: number } | undefined {
  const base = d ? table.providers.get(d.provider)?.settings.baseUrl : undefined
  return base ? serverOf(base) : undefined
}

/**
 * gen_ai_response_model of a deployment: its configured upstream model id. A
 * pattern route's deployment is not configured: it calls the upstream with
 * the client's string, so its label is the pattern (the deployment's model).
 */
export function responseModelLabelOf(table: RoutingTable, d: DeploymentEntry | undefined): string | undefined {
  if (!d) return undefined
  return table.deployments.has(d.id) ? d.upstreamModel : d.model
}

export function createMetricsObserver(metrics: GatewayMetrics, table: () => RoutingTable): PipelineObserver {
  // A failed attempt waits for the next one to say whether it was retried or failed over.
  const unresolved = new WeakMap<RequestContext, AttemptRecord>()
  const count = (r: AttemptRecord, outcome: AttemptOutcome) =>
    metrics.onAttempt({ deploymentId: r.deployment.id, provider: r.deployment.provider, providerType: r.deployment.providerType, modelLabel: r.deployment.model, outcome, durationMs: r.totalMs })
  const settlePrevious = (ctx: RequestContext, next: AttemptRecord | undefined) => {
    const prev = unresolved.get(ctx)
    if (!prev) return
    unresolved.delete(ctx)
    count(prev, !next ? 'failed' : next.deployment.id === prev.deployment.id ? 'retried' : 'failed_over')
  }

  return {
    name: 'metrics',
    onAttempt(ctx, r) {
      settlePrevious(ctx, r)
      if (r.refused) count(r, 'breaker_refused')
      else if (r.ok) count(r, 'ok')
      else if (r.failure === 'timeout') count(r, 'timed_out')
      else if (!r.clientClosed) unresolved.set(ctx, r)
    },
    onOutcome(ctx, o) {
      settlePrevious(ctx, undefined)
      const routing = table()
      const server = serverOfDeployment(routing, o.deployment)
      metrics.onRequest({
        entryPoint: ctx.entryPoint,
        modelLabel: modelLabelOf(ctx.model),
        fallbackTo: o.fallbackModel,
        status: o.status,
        stream: o.stream,
        durationMs: o.durationMs ?? 0,
        ttftMs: o.ttftMs,
        overheadMs: o.overheadMs,
        usage: tokenUsageOf(o.usage),
        costUsd: o.costUsd,
        usageSource: o.usageSource,
        deploymentId: o.deployment?.id,
        provider: o.deployment?.provider,
        providerType: o.deployment?.providerType,
        serverAddress: server?.address,
        serverPort: server?.port,
        tenant: ctx.identity.tenant ?? undefined,
        keyName: ctx.identity.name,
        responseModel: responseModelLabelOf(routing, o.deployment),
        errorType: o.error,
      })
    },
    onRefusal(request: PipelineRequest, error, stage) {
      const ctx = request as Partial<RequestContext>
      const kind = refusalKindOf(error, stage)
      if (kind) metrics.onRefusal(kind)
      metrics.onRequest({
        entryPoint: request.entryPoint,
        modelLabel: modelLabelOf(ctx.model),
        status: error?.statusCode ?? 500,
        stream: request.stream,
        durationMs: performance.now() - request.startedAt,
        usageSource: 'none',
        tenant: request.identity.tenant ?? undefined,
        keyName: request.identity.name,
        errorType: error?.code ?? undefined,
      })
    },
  }
}
