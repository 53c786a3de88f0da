// Turns a resolved model into the ordered attempt list: picks the strategy
// (request header, rules, per-model override, global), filters out
// deployments that cannot take traffic, and ranks the rest. Pure logic: every
// input it reads is passed in.
import type { ChatCompletionRequest } from '../openai/types.js'
import type { PriceEntry } from '../cost/compute.js'
import { createStrategy, isStrategyName } from '../strategies/index.js'
import { matchRule, rankByDeploymentIds, type Rule, type RuleRequest } from '../strategies/rules.js'
import type { Candidate, LatencyView, RankedCandidate, RoutingSignals, Strategy, StrategyName } from '../strategies/types.js'
import type { DeploymentEntry, ModelEntry, RoutingTable } from './table.js'

export interface PlannerDeps {
  priceOf(d: DeploymentEntry): PriceEntry | undefined
  latency(deploymentId: string): LatencyView | undefined
  inFlight(deploymentId: string): number
  /** Estimated prompt tokens of the request on a deployment. */
  countTokens(body: ChatCompletionRequest, d: DeploymentEntry): number
  rules(): Rule[]
  /** Strategy for traffic no rule matches while `rules` is in force. */
  rulesFallback(): StrategyName
  /** A reason when the deployment must not get traffic now (cooling down, at its cap). */
  unavailable?(d: DeploymentEntry): string | undefined
  random?(): number
}

export interface PlanRequest {
  model: ModelEntry
  body: Record<string, unknown>
  stream: boolean
  keyId?: string | null
  tenant?: string | null
  headers: Record<string, string | string[] | undefined>
  /** x-switchyard-strategy, already checked against the key's permission. */
  strategyOverride?: StrategyName
}

export interface RoutingPlan {
  model: ModelEntry
  /** The strategy that ordered the candidates. */
  strategy: StrategyName
  /** Where that choice came from. */
  source: 'header' | 'rule' | 'model' | 'global' | 'rules-fallback'
  rule?: { id: string; name: string }
  ranked: RankedCandidate[]
  /** Deployments left out, and why. */
  excluded: Array<{ id: string; reason: string }>
  /** Set when the plan had to count tokens. */
  promptTokens?: number
}

const MAX_STRATEGY_INSTANCES = 10_000

export class RoutingPlanner {
  /** Stateful strategies (balanced, least-busy) keep state per model. */
  private readonly instances = new Map<string, Strategy>()

  constructor(private readonly deps: PlannerDeps) {}

  private instance(model: string, name: StrategyName): Strategy {
    const key = `${name}\u0000${model}`
    let s = this.instances.get(key)
    if (!s) {
      if (this.instances.size >= MAX_STRATEGY_INSTANCES) this.instances.clear()
      s = createStrategy(name)
      this.instances.set(key, s)
    }
    return s
  }

  plan(req: PlanRequest, table: RoutingTable): RoutingPlan {
    let model = req.model
    let promptTokens: number | undefined
    const body = req.body as ChatCompletionRequest
    const tokens = (): number => {
      if (promptTokens === undefined) {
        const first = model.deployments[0]
        promptTokens = first && Array.isArray(body.messages) ? this.deps.countTokens(body, first) : 0
      }
      return promptTokens
    }

    let strategy: StrategyName
    let source: RoutingPlan['source']
    let rule: Rule | undefined
    let pinned: string[] | undefined
    if (req.strategyOverride) {
      strategy = req.strategyOverride
      source = 'header'
    } else {
      const configured = model.strategy && isStrategyName(model.strategy) ? model.strategy : isStrategyName(table.strategy) ? table.strategy : 'model'
      strategy = configured
      source = model.strategy ? 'model' : 'global'
    }

    if (strategy === 'rules') {
      const ruleRequest: RuleRequest = {
        model: model.name,
        keyId: req.keyId ?? undefined,
        tenant: req.tenant ?? undefined,
        headers: req.headers,
        metadata: (body.metadata as Record<string, unknown> | undefined) ?? undefined,
        get promptTokens() {
          return tokens()
        },
        stream: req.stream,
        hasTools: Array.isArray(body.tools) && body.tools.length > 0,
      }
      rule = matchRule(this.deps.rules(), ruleRequest)
      const fallback = this.deps.rulesFallback()
      strategy = fallback === 'rules' ? 'model' : fallback
      source = 'rules-fallback'
      if (rule) {
        source = 'rule'
        const action = rule.action
        if (action.type === 'strategy') strategy = action.strategy
        else if (action.type === 'deployments') pinned = action.deploymentIds
        else if (action.type === 'model') {
          const target = table.get(action.model)
          if (target) {
            model = target
            promptTokens = undefined
            if (target.strategy && isStrategyName(target.strategy) && target.strategy !== 'rules') strategy = target.strategy
          }
        }
      }
    }

    const excluded: RoutingPlan['excluded'] = []
    const candidates: Candidate[] = []
    for (const d of model.deployments) {
      if (!d.enabled) {
        excluded.push({ id: d.id, reason: 'disabled' })
        continue
      }
      const why = this.deps.unavailable?.(d)
      if (why) {
        excluded.push({ id: d.id, reason: why })
        continue
      }
      candidates.push({
        id: d.id,
        provider: d.provider,
        providerType: d.providerType,
        model: d.model,
        upstreamModel: d.upstreamModel,
        position: d.position,
        weight: d.weight,
        pricing: this.deps.priceOf(d),
      })
    }

    const maxOut = body.max_completion_tokens ?? body.max_tokens
    const deps = this.deps
    const signals: RoutingSignals = {
      get promptTokens() {
        return tokens()
      },
      maxOutputTokens: typeof maxOut === 'number' ? maxOut : undefined,
      stream: req.stream,
      latency: (id) => deps.latency(id),
      inFlight: (id) => deps.inFlight(id),
      random: deps.random ?? Math.random,
    }

    let ranked: RankedCandidate[]
    if (pinned) {
      ranked = rankByDeploymentIds(candidates, pinned, rule?.name)
    } else if (candidates.length <= 1) {
      // Nothing to choose between; skip the strategy (and its token counting).
      ranked = candidates.map((c) => ({ candidate: c, reason: `${strategy}: only available deployment` }))
    } else {
      ranked = this.instance(model.name, strategy).rank(candidates, signals)
    }
    return {
      model,
      strategy,
      source,
      rule: rule ? { id: rule.id, name: rule.name } : undefined,
      ranked,
      excluded,
      promptTokens,
    }
  }

  /** Deployment entries of a plan, in attempt order. */
  static deployments(plan: RoutingPlan): DeploymentEntry[] {
    const byId = new Map(plan.model.deployments.map((d) => [d.id, d]))
    return plan.ranked.map((r) => byId.get(r.candidate.id)!).filter(Boolean)
  }
}
