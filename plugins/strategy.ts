// The routing strategy in force: orders the deployments of each request's
// model. Strategy settings and rules live in the database and are cached
// here; reload() picks up a change for the very next request.
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { errors } from '../lib/errors.js'
import { countPromptTokens } from '../lib/cost/tokens.js'
import { RoutingPlanner, type RoutingPlan } from '../lib/routing/planner.js'
import { isStrategyName, STRATEGY_NAMES } from '../lib/strategies/index.js'
import type { Rule } from '../lib/strategies/rules.js'
import type { StrategyName } from '../lib/strategies/types.js'
import type { DeploymentEntry, ModelEntry } from '../lib/routing/table.js'

export const STRATEGY_HEADER = 'x-switchyard-strategy'

declare module 'fastify' {
  interface FastifyInstance {
    strategy: {
      planner: RoutingPlanner
      /** Plans a /v1 request; throws OpenAI-shaped errors for a bad override header. */
      plan(request: FastifyRequest, model: ModelEntry, stream: boolean): RoutingPlan
      /** Deployments that cannot take traffic now; other plugins add checks. */
      availability: Array<(d: DeploymentEntry) => string | undefined>
      rules(): Rule[]
      reload(): Promise<void>
    }
  }
}

function parse<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

export default fp(
  async (app) => {
    let rules: Rule[] = []
    let rulesFallback: StrategyName = 'model'
    const availability: Array<(d: DeploymentEntry) => string | undefined> = []

    const reload = async () => {
      const [rows, fallback] = await Promise.all([
        app.db.routingRule.findMany({ where: { enabled: true }, orderBy: [{ position: 'asc' }, { createdAt: 'asc' }] }),
        app.db.setting.findUnique({ where: { key: 'routing.rulesFallback' } }),
      ])
      rules = rows.map((r) => ({ id: r.id, name: r.name, enabled: r.enabled, conditions: parse(r.conditions, {}), action: parse(r.action, { type: 'strategy', strategy: 'model' }) }))
      const f = fallback ? parse<unknown>(fallback.value, 'model') : 'model'
      rulesFallback = isStrategyName(f) && f !== 'rules' ? f : 'model'
    }
    await reload()

    const planner = new RoutingPlanner({
      priceOf: (d) => app.pricing.priceOf(d),
      latency: (id) => app.latency.tracker.get(id),
      inFlight: (id) => app.latency.inflight.get(id),
      countTokens: (body, d) => countPromptTokens(body, d.providerType, d.upstreamModel).tokens,
      rules: () => rules,
      rulesFallback: () => rulesFallback,
      unavailable: (d) => {
        for (const check of availability) {
          const why = check(d)
          if (why) return why
        }
        return undefined
      },
    })

    app.decorate('strategy', {
      planner,
      availability,
      rules: () => rules,
      reload,
      plan(request: FastifyRequest, model: ModelEntry, stream: boolean): RoutingPlan {
        const header = request.headers[STRATEGY_HEADER]
        let strategyOverride: StrategyName | undefined
        if (typeof header === 'string' && header.length > 0) {
          if (!isStrategyName(header)) {
            throw errors.invalidBody(`Unknown strategy "${header}" in ${STRATEGY_HEADER}; expected one of ${STRATEGY_NAMES.join(', ')}.`, STRATEGY_HEADER)
          }
          if (!request.identity?.allowStrategyOverride) throw errors.strategyOverrideForbidden()
          strategyOverride = header
        }
        return planner.plan(
          {
            model,
            body: request.body as Record<string, unknown>,
            stream,
            keyId: request.identity?.id,
            tenant: request.identity?.tenant,
            headers: request.headers,
            strategyOverride,
          },
          app.modelRouting.table,
        )
      },
    })
  },
  { name: 'strategy', dependencies: ['model-routing', 'cost-estimate', 'latency'] },
)
