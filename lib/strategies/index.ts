// Strategy registry.

import { createBalancedStrategy } from './balanced.js'
import { createCostStrategy } from './cost.js'
import { createLatencyStrategy } from './latency.js'
import { createLeastBusyStrategy } from './least-busy.js'
import { createModelStrategy } from './model.js'
import { STRATEGY_NAMES, type RankingStrategyName, type Strategy, type StrategyName } from './types.js'

export type * from './types.js'
export { STRATEGY_NAMES }

// 'rules' has no factory: the planner matches a rule, then ranks with the
// rule's strategy or the rules fallback, which is one of these.
const FACTORIES: Record<RankingStrategyName, () => Strategy> = {
  model: createModelStrategy,
  cost: createCostStrategy,
  latency: createLatencyStrategy,
  balanced: createBalancedStrategy,
  'least-busy': createLeastBusyStrategy,
}

export function isStrategyName(name: unknown): name is StrategyName {
  return typeof name === 'string' && (STRATEGY_NAMES as readonly string[]).includes(name)
}

/** A new instance (stateful strategies do not share state between instances). */
export function createStrategy(name: StrategyName): Strategy {
  if (name === 'rules') throw new Error('the rules strategy ranks nothing itself: the planner applies the rules, then ranks with a ranking strategy')
  if (!isStrategyName(name)) throw new Error(`unknown routing strategy: ${String(name)}`)
  return FACTORIES[name]()
}
