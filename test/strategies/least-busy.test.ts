import { test } from 'tap'
import { createLeastBusyStrategy } from '../../lib/strategies/least-busy.js'
import type { Candidate, RoutingSignals } from '../../lib/strategies/types.js'

function cand(id: string, position: number): Candidate {
  return { id, provider: 'p', providerType: 'openai', model: 'm', upstreamModel: 'm', position, weight: 1 }
}

function signals(busy: Record<string, number>): RoutingSignals {
  return { promptTokens: 10, stream: false, latency: () => undefined, inFlight: (id) => busy[id] ?? 0, random: () => 0.5 }
}

const cs = [cand('a', 0), cand('b', 1), cand('c', 2)]
const ids = (r: { candidate: Candidate }[]) => r.map((x) => x.candidate.id)

test('fewest in-flight first', async (t) => {
  const s = createLeastBusyStrategy()
  t.equal(s.name, 'least-busy')
  const r = s.rank(cs, signals({ a: 3, b: 0, c: 1 }))
  t.same(ids(r), ['b', 'c', 'a'])
  t.same(r.map((x) => x.score), [0, 1, 3])
  t.equal(r[1].reason, '1 request in flight')
  t.equal(r[2].reason, '3 requests in flight')
})

test('ties rotate across calls instead of piling on the first', async (t) => {
  const s = createLeastBusyStrategy()
  const idle = signals({})
  t.same(ids(s.rank(cs, idle)), ['a', 'b', 'c'])
  t.same(ids(s.rank(cs, idle)), ['b', 'c', 'a'])
  t.same(ids(s.rank(cs, idle)), ['c', 'a', 'b'])
  t.same(ids(s.rank(cs, idle)), ['a', 'b', 'c'])
})

test('rotation only reorders ties', async (t) => {
  const s = createLeastBusyStrategy()
  const sig = signals({ a: 1 })
  t.same(ids(s.rank(cs, sig)), ['b', 'c', 'a'])
  t.same(ids(s.rank(cs, sig)), ['b', 'c', 'a'])
  t.same(ids(s.rank(cs, sig)), ['c', 'b', 'a'])
})

test('spread over idle deployments is even', async (t) => {
  const s = createLeastBusyStrategy()
  const n: Record<string, number> = {}
  for (let i = 0; i < 300; i++) {
    const id = s.rank(cs, signals({}))[0].candidate.id
    n[id] = (n[id] ?? 0) + 1
  }
  t.same(n, { a: 100, b: 100, c: 100 })
  t.same(s.rank([], signals({})), [])
})
