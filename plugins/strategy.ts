// The routing strategy in force: orders the deployments of each request's
// model (lib/routing/planner.ts; the pipeline's plan stage calls it).
// Strategy settings and rules live in the database and are cached here;
// reload() picks up a change for the very next request. Deployments cooling
// down or at their cap are left out.
import fp from 'fastify-plugin'
import { countPromptTokens } from '../lib/cost/tokens.js'
import { RoutingPlanner } from '../lib/routing/planner.js'
import { isStrategyName } from '../lib/strategies/index.js'
import type { Rule } from '../lib/strategies/rules.js'
import type { StrategyName } from '../lib/strategies/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    strategy: {
      planner: RoutingPlanner
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
      priceOf: (d) => app.costEstimate.priceOf(d),
      latency: (id) => app.latency.tracker.get(id),
      inFlight: (id) => app.latency.inflight.get(id),
      countTokens: (body, d) => countPromptTokens(body, d.providerType, d.upstreamModel).tokens,
      rules: () => rules,
      rulesFallback: () => rulesFallback,
      unavailable: (d) => app.cooldown.unavailable(d.id) ?? app.limits.caps.unavailable(d),
    })

    app.decorate('strategy', { planner, rules: () => rules, reload })
  },
  { name: 'strategy', dependencies: ['prisma', 'model-routing', 'cost-estimate', 'latency', 'cooldown', 'limits'] },
)
