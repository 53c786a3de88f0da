// Stage 4: the strategy in force ranks the model's deployments (lib/routing/
// planner.ts); a routing rule may move the request to another model, which
// the caller must be allowed to use. For a run, a plan with nothing to try
// (and no fallback model) is refused here: 503, with retry-after when every
// deployment left out is cooling down.
import { errors } from '../../errors.js'
import { RoutingPlanner, type RoutingPlan } from '../../routing/planner.js'
import { coolingRetryAfterMs, type DeploymentHealth } from '../../resilience/circuit.js'
import { isStrategyName, STRATEGY_NAMES } from '../../strategies/index.js'
import type { StrategyName } from '../../strategies/types.js'
import type { ModelEntry, RoutingTable } from '../../routing/table.js'
import type { PlanStage, RequestContext, ResolveStage } from '../types.js'

export const STRATEGY_HEADER = 'x-switchyard-strategy'

export interface PlanStageDeps {
  planner: RoutingPlanner
  table: () => RoutingTable
  allowed: ResolveStage['allowed']
  /** A deployment's circuit, for when it reopens. */
  health?: (deploymentId: string) => DeploymentHealth
}

/** x-switchyard-strategy, for keys allowed to choose; a bad value is a 400. */
export function strategyOverride(ctx: Pick<RequestContext, 'headers' | 'identity'>): StrategyName | undefined {
  const header = ctx.headers[STRATEGY_HEADER]
  if (typeof header !== 'string' || header.length === 0) return undefined
  if (!isStrategyName(header)) {
    throw errors.invalidBody(`Unknown strategy "${header}" in ${STRATEGY_HEADER}; expected one of ${STRATEGY_NAMES.join(', ')}.`, STRATEGY_HEADER)
  }
  if (!ctx.identity.allowStrategyOverride) throw errors.strategyOverrideForbidden()
  return header
}

export function createPlanStage(deps: PlanStageDeps): PlanStage {
  const rank = (ctx: RequestContext, model: ModelEntry): RoutingPlan => {
    const plan = deps.planner.plan(
      {
        model,
        body: ctx.body as unknown as Record<string, unknown>,
        stream: ctx.stream,
        keyId: ctx.identity.id,
        tenant: ctx.identity.tenant,
        headers: ctx.headers,
        strategyOverride: strategyOverride(ctx),
      },
      deps.table(),
    )
    plan.coolingUntil = coolingUntil(plan)
    return plan
  }

  /** When every deployment left out (other than disabled ones) is cooling down: epoch ms when the first reopens. */
  const coolingUntil = (plan: RoutingPlan): number | undefined => {
    if (!deps.health || plan.excluded.length === 0) return undefined
    const now = Date.now()
    const ids = plan.excluded.filter((e) => e.reason !== 'disabled').map((e) => e.id)
    const ms = coolingRetryAfterMs(ids, deps.health, now)
    return ms === undefined ? undefined : now + ms
  }

  return {
    plan(ctx, mode) {
      const plan = rank(ctx, ctx.model)
      // A rule routes; it does not grant access.
      if (plan.model !== ctx.model && !deps.allowed(ctx.identity, plan.model)) throw errors.ruleModelNotAllowed(ctx.body.model)
      // With fallback models there is still a chance: the attempts go on to them.
      if (mode === 'run' && plan.ranked.length === 0 && plan.model.fallbacks.length === 0) {
        if (plan.coolingUntil !== undefined) throw errors.allDeploymentsCoolingDown(plan.model.name, (plan.coolingUntil - Date.now()) / 1000)
        throw errors.noDeployment(plan.model.name)
      }
      return plan
    },
    fallback(ctx, name) {
      const target = deps.table().get(name)
      if (!target || !deps.allowed(ctx.identity, target)) return undefined
      const plan = rank(ctx, target)
      if (plan.model !== target && !deps.allowed(ctx.identity, plan.model)) return undefined
      return { model: plan.model, candidates: RoutingPlanner.deployments(plan), coolingUntil: plan.coolingUntil }
    },
  }
}
