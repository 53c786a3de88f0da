import { test } from 'tap'
import { createBalancedStrategy } from '../../lib/strategies/balanced.js'
import type { Candidate, RoutingSignals } from '../../lib/strategies/types.js'

function cand(id: string, position: number, weight: number): Candidate {
  return { id, provider: 'p', providerType: 'openai', model: 'm', upstreamModel: 'm', position, weight }
}

const signals: RoutingSignals = {
  promptTokens: 10,
  stream: false,
  latency: () => undefined,
  inFlight: () => 0,
  random: () => 0.5,
}

function counts(ids: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const id of ids) out[id] = (out[id] ?? 0) + 1
  return out
}

test('weights 5:1:1 give the nginx smooth sequence', async (t) => {
  const s = createBalancedStrategy()
  t.equal(s.name, 'balanced')
  const cs = [cand('a', 0, 5), cand('b', 1, 1), cand('c', 2, 1)]
  const picks: string[] = []
  for (let i = 0; i < 14; i++) picks.push(s.rank(cs, signals)[0].candidate.id)
  t.same(picks.slice(0, 7), ['a', 'a', 'b', 'a', 'c', 'a', 'a'])
  t.same(picks.slice(7), picks.slice(0, 7), 'the cycle repeats')
  t.same(Object.fromEntries(s.currentWeights()), { a: 0, b: 0, c: 0 }, 'a full cycle returns to zero')
})

test('the fallback order is the descending current weight after the pick', async (t) => {
  const s = createBalancedStrategy()
  const cs = [cand('a', 0, 5), cand('b', 1, 1), cand('c', 2, 1)]
  let r = s.rank(cs, signals) // currents a=-2 b=1 c=1
  t.same(r.map((x) => x.candidate.id), ['a', 'b', 'c'])
  t.equal(r[0].score, 5)
  t.match(r[0].reason, /weight 5, share 71\.4%/)
  r = s.rank(cs, signals) // a=-4 b=2 c=2
  t.same(r.map((x) => x.candidate.id), ['a', 'b', 'c'])
  r = s.rank(cs, signals) // b picked: a=1 b=-4 c=3
  t.same(r.map((x) => x.candidate.id), ['b', 'c', 'a'])
  r = s.rank(cs, signals) // a picked: a=-1 b=-3 c=4
  t.same(r.map((x) => x.candidate.id), ['a', 'c', 'b'])
})

test('equal weights spread evenly: 300 picks over 3 give exactly 100 each, rotating', async (t) => {
  const s = createBalancedStrategy()
  const cs = [cand('x', 0, 1), cand('y', 1, 1), cand('z', 2, 1)]
  const picks: string[] = []
  for (let i = 0; i < 300; i++) picks.push(s.rank(cs, signals)[0].candidate.id)
  t.same(counts(picks), { x: 100, y: 100, z: 100 })
  for (let i = 0; i < 300; i += 3) {
    if (new Set(picks.slice(i, i + 3)).size !== 3) {
      t.fail(`window at ${i} is not a rotation: ${picks.slice(i, i + 3).join(',')}`)
      return
    }
  }
  t.same(picks.slice(0, 6), ['x', 'y', 'z', 'x', 'y', 'z'])
})

test('interleaved async callers keep exact proportions', async (t) => {
  const s = createBalancedStrategy()
  const cs = [cand('a', 0, 5), cand('b', 1, 3), cand('c', 2, 2)]
  const picks: string[] = []
  const task = async (i: number) => {
    for (let k = 0; k < i % 7; k++) await Promise.resolve()
    if (i % 3 === 0) await new Promise((r) => setImmediate(r))
    const first = s.rank(cs, signals)[0].candidate.id
    await new Promise((r) => setTimeout(r, i % 5))
    picks.push(first)
  }
  await Promise.all(Array.from({ length: 1000 }, (_, i) => task(i)))
  t.equal(picks.length, 1000)
  t.same(counts(picks), { a: 500, b: 300, c: 200 })

  const eq = createBalancedStrategy()
  const ce = [cand('x', 0, 1), cand('y', 1, 1), cand('z', 2, 1)]
  const p2: string[] = []
  await Promise.all(
    Array.from({ length: 999 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, (i * 7) % 4))
      p2.push(eq.rank(ce, signals)[0].candidate.id)
      await Promise.resolve()
    }),
  )
  t.same(counts(p2), { x: 333, y: 333, z: 333 })
})

test('every candidate is returned; zero weight is only a fallback', async (t) => {
  const s = createBalancedStrategy()
  const cs = [cand('z', 0, 0), cand('a', 1, 2), cand('b', 2, 1)]
  const picks: string[] = []
  for (let i = 0; i < 30; i++) {
    const r = s.rank(cs, signals)
    t.equal(r.length, 3)
    picks.push(r[0].candidate.id)
  }
  t.same(counts(picks), { a: 20, b: 10 })
  t.same(s.rank([], signals), [])
})

test('instances do not share state, reset() clears it, input order does not matter', async (t) => {
  const s1 = createBalancedStrategy()
  const s2 = createBalancedStrategy()
  const cs = [cand('a', 0, 1), cand('b', 1, 1)]
  t.equal(s1.rank(cs, signals)[0].candidate.id, 'a')
  t.equal(s1.rank([...cs].reverse(), signals)[0].candidate.id, 'b')
  t.equal(s2.rank(cs, signals)[0].candidate.id, 'a')
  s1.reset()
  t.equal(s1.currentWeights().size, 0)
  t.equal(s1.rank(cs, signals)[0].candidate.id, 'a')
})
