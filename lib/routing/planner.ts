// Turns a resolved model into the ordered attempt list: picks the strategy
// (request header, rules, per-model override, global), filters out
// deployments that cannot take traffic, and ranks the rest. Pure logic: every
// input it reads is passed in.
import type { ChatCompletionRequest } from '../openai/types.js'
import type { PriceEntry } from '../cost/compute.js'
import { createStrategy, isStrategyName } from '../strategies/index.js'
import { matchRule, rankByDeploymentIds, type Rule, type RuleRequest } from '../strategies/rules.js'
import { expectedCompletion, requestedMaxTokens, type ExpectedCompletion } from '../strategies/expected-completion.js'
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
  /** Prompt tokens on the first ranked deployment, when the plan had to count them there. */
  promptTokens?: number
  /** Set when the strategy priced completions: the one figure every candidate was compared on. */
  expectedCompletion?: ExpectedCompletion  /** Set when deployments were left out for cooling down: epoch ms when the first reopens. */
  coolingUntil?: number
}

/**
 * The completion every deployment of `model` is compared on for this request
 * (see lib/strategies/expected-completion.ts): its history is that of ALL the
 * model's deployments, enabled or not, available or not.
 */
export function modelExpectedCompletion(
  model: ModelEntry,
  body: Record<string, unknown>,
  latency: (deploymentId: string) => LatencyView | undefined,
): ExpectedCompletion {
  return expectedCompletion(requestedMaxTokens(body), model.deployments.map((d) => latency(d.id)))
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
    const body = req.body as ChatCompletionRequest
    const deps = this.deps

    // Prompt tokens per deployment, counted on first use: each provider
    // bills with its own tokenizer, so each candidate is priced with its own count.
    const counts = new Map<string, number>()
    const countOn = (d: DeploymentEntry): number => {
      let n = counts.get(d.id)
      if (n === undefined) {
        n = Array.isArray(body.messages) ? deps.countTokens(body, d) : 0
        counts.set(d.id, n)
      }
      return n
    }

    // Which deployments of a model can take traffic now, checked once per model.
    const availability = new Map<ModelEntry, { usable: DeploymentEntry[]; excluded: RoutingPlan['excluded'] }>()
    const available = (m: ModelEntry) => {
      let a = availability.get(m)
      if (!a) {
        a = { usable: [], excluded: [] }
        for (const d of m.deployments) {
          const why = d.enabled ? deps.unavailable?.(d) : 'disabled'
          if (why) a.excluded.push({ id: d.id, reason: why })
          else a.usable.push(d)
        }
        availability.set(m, a)
      }
      return a
    }
    // The deployment a model-level token count stands for: the first that can
    // take traffic (not a disabled or cooling one, whose provider may count
    // differently), else the first enabled one.
    const representative = (m: ModelEntry): DeploymentEntry | undefined =>
      available(m).usable[0] ?? m.deployments.find((d) => d.enabled) ?? m.deployments[0]
    const tokensOf = (m: ModelEntry): number => {
      const d = representative(m)
      return d ? countOn(d) : 0
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
      const ruleModel = model
      const ruleRequest: RuleRequest = {
        model: model.name,
        keyId: req.keyId ?? undefined,
        tenant: req.tenant ?? undefined,
        headers: req.headers,
        metadata: (body.metadata as Record<string, unknown> | undefined) ?? undefined,
        get promptTokens() {
          return tokensOf(ruleModel)
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
            if (target.strategy && isStrategyName(target.strategy) && target.strategy !== 'rules') strategy = target.strategy
          }
        }
      }
    }

    const finalModel = model
    const { usable, excluded } = available(finalModel)
    const byId = new Map(usable.map((d) => [d.id, d]))
    const candidates: Candidate[] = usable.map((d) => ({
      id: d.id,
      provider: d.provider,
      providerType: d.providerType,
      model: d.model,
      upstreamModel: d.upstreamModel,
      position: d.position,
      weight: d.weight,
      pricing: deps.priceOf(d),
    }))

    let expected: ExpectedCompletion | undefined
    const signals: RoutingSignals = {
      get promptTokens() {
        return tokensOf(finalModel)
      },
      promptTokensOf: (c) => {
        const d = byId.get(c.id)
        return d ? countOn(d) : tokensOf(finalModel)
      },
      maxOutputTokens: requestedMaxTokens(body),
      get expectedCompletion() {
        return (expected ??= modelExpectedCompletion(finalModel, body, deps.latency))
      },
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
      ranked = this.instance(finalModel.name, strategy).rank(candidates, signals)
    }
    const first = ranked[0]?.candidate.id
    return {
      model: finalModel,
      strategy,
      source,
      rule: rule ? { id: rule.id, name: rule.name } : undefined,
      ranked,
      excluded,
      promptTokens: first !== undefined ? counts.get(first) : undefined,
      expectedCompletion: expected,
    }
  }

  /** Deployment entries of a plan, in attempt order. */
  static deployments(plan: RoutingPlan): DeploymentEntry[] {
    const byId = new Map(plan.model.deployments.map((d) => [d.id, d]))
    return plan.ranked.map((r) => byId.get(r.candidate.id)!).filter(Boolean)
  }
}
