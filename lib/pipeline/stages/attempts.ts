// Stage 5: the proxy engine tries the plan's deployments (lib/proxy/engine.ts);
// this adapter hands it the request as a job that reports back to the pipeline.
import { RoutingPlanner } from '../../routing/planner.js'
import type { ProxyEngine } from '../../proxy/engine.js'
import type { ChatCompletionRequest, EmbeddingsRequest } from '../../openai/types.js'
import type { RoutingTable } from '../../routing/table.js'
import type { AttemptsStage, PlanStage } from '../types.js'

export function createAttemptsStage(engine: ProxyEngine, plan: PlanStage, table: () => RoutingTable): AttemptsStage {
  return {
    run(ctx, routingPlan, report) {
      const job = {
        requestId: ctx.id,
        created: ctx.created,
        raw: ctx.raw ?? JSON.stringify(ctx.body),
        stream: ctx.stream,
        includeUsage: ctx.includeUsage,
        model: routingPlan.model,
        candidates: RoutingPlanner.deployments(routingPlan),
        table: table(),
        signal: ctx.signal,
        upstreamHeaders: ctx.upstreamHeaders,
        native: ctx.native,
        coolingUntil: routingPlan.coolingUntil,
        planFallback: (name: string) => plan.fallback(ctx, name),
        report,
      }
      return ctx.operation === 'chat'
        ? engine.chat({ ...job, body: ctx.body as ChatCompletionRequest })
        : engine.embeddings({ ...job, body: ctx.body as EmbeddingsRequest })
    },
  }
}
