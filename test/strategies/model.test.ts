import { test } from 'tap'
import { createModelStrategy } from '../../lib/strategies/model.js'
import type { Candidate, RoutingSignals } from '../../lib/strategies/types.js'

function cand(id: string, position: number): Candidate {
  return { id, provider: 'p', providerType: 'openai', model: 'm', upstreamModel: 'm', position, weight: 1 }
}

const signals: RoutingSignals = {
  promptTokens: 10,
  stream: false,
  latency: () => undefined,
  inFlight: () => 0,
  random: () => 0.5,
}

test('model strategy orders by declared position', async (t) => {
  const s = createModelStrategy()
  t.equal(s.name, 'model')
  const ranked = s.rank([cand('c', 2), cand('a', 0), cand('b', 1)], signals)
  t.same(ranked.map((r) => r.candidate.id), ['a', 'b', 'c'])
  t.same(ranked.map((r) => r.score), [0, 1, 2])
  t.match(ranked[0].reason, /declared first/)
  t.match(ranked[2].reason, /fallback #2/)
})

test('model strategy does not mutate its input and handles empty lists', async (t) => {
  const s = createModelStrategy()
  const input = [cand('b', 1), cand('a', 0)]
  s.rank(input, signals)
  t.same(input.map((c) => c.id), ['b', 'a'])
  t.same(s.rank([], signals), [])
})

test('equal positions are ordered by id, independent of input order', async (t) => {
  const s = createModelStrategy()
  t.same(s.rank([cand('y', 0), cand('x', 0)], signals).map((r) => r.candidate.id), ['x', 'y'])
  t.same(s.rank([cand('x', 0), cand('y', 0)], signals).map((r) => r.candidate.id), ['x', 'y'])
})
