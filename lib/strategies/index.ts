// Strategy registry.

import { createBalancedStrategy } from './balanced.js'
import { createCostStrategy } from './cost.js'
import { createLatencyStrategy } from './latency.js'
import { createLeastBusyStrategy } from './least-busy.js'
import { createModelStrategy } from './model.js'
import { createRulesStrategy } from './rules.js'
import type { Strategy, StrategyName } from './types.js'

export type * from './types.js'

export const STRATEGY_NAMES: readonly StrategyName[] = Object.freeze([
  'model',
  'cost',
  'latency',
  'balanced',
  'least-busy',
  'rules',
] as const)

const FACTORIES: Record<StrategyName, () => Strategy> = {
  model: createModelStrategy,
  cost: createCostStrategy,
  latency: createLatencyStrategy,
  balanced: createBalancedStrategy,
  'least-busy': createLeastBusyStrategy,
  rules: createRulesStrategy,
}

export function isStrategyName(name: unknown): name is StrategyName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(FACTORIES, name)
}

/** A new instance (stateful strategies do not share state between instances). */
export function createStrategy(name: StrategyName): Strategy {
  if (!isStrategyName(name)) throw new Error(`unknown routing strategy: ${String(name)}`)
  return FACTORIES[name]()
}
