import { test } from 'tap'
import { createStrategy, isStrategyName, STRATEGY_NAMES } from '../../lib/strategies/index.js'
import type { Candidate, RoutingSignals, StrategyName } from '../../lib/strategies/index.js'

const cs: Candidate[] = [
  { id: 'b', provider: 'p', providerType: 'openai', model: 'm', upstreamModel: 'm', position: 1, weight: 1, pricing: { input: 1, output: 1 } },
  { id: 'a', provider: 'p', providerType: 'openai', model: 'm', upstreamModel: 'm', position: 0, weight: 1, pricing: { input: 2, output: 2 } },
]
const signals: RoutingSignals = { promptTokens: 10, stream: false, latency: () => undefined, inFlight: () => 0, random: () => 0.5 }

test('registry lists every strategy and creates every ranking one', async (t) => {
  t.same([...STRATEGY_NAMES], ['model', 'cost', 'latency', 'balanced', 'least-busy', 'rules'])
  t.ok(Object.isFrozen(STRATEGY_NAMES))
  for (const name of STRATEGY_NAMES.filter((n) => n !== 'rules')) {
    const s = createStrategy(name)
    t.equal(s.name, name)
    const r = s.rank(cs, signals)
    t.equal(r.length, 2, `${name} returns the full list`)
    t.same(new Set(r.map((x) => x.candidate.id)), new Set(['a', 'b']))
    t.ok(r.every((x) => typeof x.reason === 'string' && x.reason.length > 0), `${name} gives reasons`)
  }
  t.equal(createStrategy('cost').rank(cs, signals)[0].candidate.id, 'b')
  t.equal(createStrategy('model').rank(cs, signals)[0].candidate.id, 'a')
})

test('each call creates an independent instance', async (t) => {
  const s1 = createStrategy('balanced')
  const s2 = createStrategy('balanced')
  t.not(s1, s2)
  t.equal(s1.rank(cs, signals)[0].candidate.id, 'a')
  t.equal(s1.rank(cs, signals)[0].candidate.id, 'b')
  t.equal(s2.rank(cs, signals)[0].candidate.id, 'a')
})

test('unknown names are rejected', async (t) => {
  t.ok(isStrategyName('least-busy'))
  t.notOk(isStrategyName('fastest'))
  t.notOk(isStrategyName('toString'))
  t.notOk(isStrategyName(3))
  t.throws(() => createStrategy('fastest' as StrategyName), /unknown routing strategy: fastest/)
  // The planner applies rules itself, then ranks with a ranking strategy.
  t.ok(isStrategyName('rules'))
  t.throws(() => createStrategy('rules'), /ranks nothing itself/)
})
