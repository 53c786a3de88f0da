import { test } from 'tap'
import { createLatencyStrategy, EXPLORATION_RATE, MIN_SAMPLES } from '../../lib/strategies/latency.js'
import type { Candidate, LatencyView, RoutingSignals } from '../../lib/strategies/types.js'

function cand(id: string, position: number): Candidate {
  return { id, provider: 'p', providerType: 'openai', model: 'm', upstreamModel: 'm', position, weight: 1 }
}

function signals(lat: Record<string, LatencyView>, stream: boolean, randoms: number[] = [0.5]): RoutingSignals & { calls: () => number } {
  let i = 0
  return {
    promptTokens: 10,
    stream,
    latency: (id) => lat[id],
    inFlight: () => 0,
    random: () => randoms[Math.min(i++, randoms.length - 1)],
    calls: () => i,
  }
}

const a = cand('a', 0)
const b = cand('b', 1)
const c = cand('c', 2)
const lat: Record<string, LatencyView> = {
  a: { emaMs: 300, emaTtftMs: 50, samples: 10 },
  b: { emaMs: 200, emaTtftMs: 120, samples: 10 },
  c: { emaMs: 100, samples: 10 },
}

test('constants', async (t) => {
  t.equal(MIN_SAMPLES, 3)
  t.equal(EXPLORATION_RATE, 0.05)
})

test('non-streaming requests rank by EMA total time', async (t) => {
  const sig = signals(lat, false)
  const r = createLatencyStrategy().rank([a, b, c], sig)
  t.same(r.map((x) => x.candidate.id), ['c', 'b', 'a'])
  t.same(r.map((x) => x.score), [100, 200, 300])
  t.match(r[0].reason, /total time 100 ms/)
  t.equal(sig.calls(), 1, 'one random draw when not exploring')
})

test('streaming requests rank by TTFT when every measured candidate has one, else all by total time', async (t) => {
  // c has only served non-streamed traffic (no TTFT): comparing its total time
  // with the others' TTFT would be unfair, so all three are compared on total time.
  const mixed = createLatencyStrategy().rank([c, b, a], signals(lat, true))
  t.same(mixed.map((x) => x.candidate.id), ['c', 'b', 'a'])
  t.same(mixed.map((x) => x.score), [100, 200, 300])
  t.match(mixed[0].reason, /total time \(not every candidate has a TTFT yet\) 100 ms/)
  // Without c, both have a TTFT: TTFT decides (a is faster to first token, slower in total).
  const both = createLatencyStrategy().rank([b, a], signals(lat, true))
  t.same(both.map((x) => x.candidate.id), ['a', 'b'])
  t.same(both.map((x) => x.score), [50, 120])
  t.match(both[0].reason, /time to first token 50 ms/)
  // Non-streamed requests are unaffected.
  t.same(createLatencyStrategy().rank([b, a], signals(lat, false)).map((x) => x.candidate.id), ['b', 'a'])
})

test('attempts in flight count toward the samples: a new deployment is not flooded before it is measured', async (t) => {
  const fresh = cand('fresh', 3)
  const l = { ...lat, fresh: { samples: 1, emaMs: 900 } }
  const busy: Record<string, number> = { fresh: 0 }
  const sig = { ...signals(l, false), inFlight: (id: string) => busy[id] ?? 0 }
  t.equal(createLatencyStrategy().rank([a, b, c, fresh], sig)[0].candidate.id, 'fresh', 'measured first while under-sampled')
  busy.fresh = 1
  const one = createLatencyStrategy().rank([a, b, c, fresh], sig)
  t.equal(one[0].candidate.id, 'fresh', 'one sample + one in flight is still under MIN_SAMPLES')
  t.match(one[0].reason, /under-sampled \(1\/3 samples \+ 1 in flight\)/)
  busy.fresh = 2
  const r = createLatencyStrategy().rank([a, b, c, fresh], sig)
  t.same(r.map((x) => x.candidate.id), ['c', 'b', 'a', 'fresh'], 'with enough attempts under way it is ranked on its EMA like the others')
})

test('under-sampled deployments come first, fewest samples first; failing ones last', async (t) => {
  const d = cand('d', 3)
  const e = cand('e', 4)
  const f = cand('f', 5)
  const l = { ...lat, d: { emaMs: 5000, samples: MIN_SAMPLES - 1 }, f: { samples: 7 } }
  const r = createLatencyStrategy().rank([a, b, c, d, e, f], signals(l, false))
  t.same(r.map((x) => x.candidate.id), ['e', 'd', 'c', 'b', 'a', 'f'])
  t.match(r[0].reason, /under-sampled \(0\/3/)
  t.match(r[5].reason, /no successful sample/)
  // exactly MIN_SAMPLES counts as measured
  const l2 = { ...lat, d: { emaMs: 5000, samples: MIN_SAMPLES } }
  t.same(createLatencyStrategy().rank([a, d], signals(l2, false)).map((x) => x.candidate.id), ['a', 'd'])
})

test('ties are broken by position', async (t) => {
  const l = { a: { emaMs: 100, samples: 5 }, b: { emaMs: 100, samples: 5 } }
  t.same(createLatencyStrategy().rank([b, a], signals(l, false)).map((x) => x.candidate.id), ['a', 'b'])
})

test('exploration moves a random non-first candidate to the front (deterministic random)', async (t) => {
  const s = createLatencyStrategy()
  // base order c, b, a; 0.01 < 0.05 explores, 0.99 picks the last of the 2 non-first
  let sig = signals(lat, false, [0.01, 0.99])
  let r = s.rank([a, b, c], sig)
  t.same(r.map((x) => x.candidate.id), ['a', 'c', 'b'])
  t.match(r[0].reason, /^exploration/)
  t.equal(sig.calls(), 2)
  sig = signals(lat, false, [0.01, 0])
  r = s.rank([a, b, c], sig)
  t.same(r.map((x) => x.candidate.id), ['b', 'c', 'a'])
  // exactly the rate does not explore (probability is random() < rate)
  r = s.rank([a, b, c], signals(lat, false, [EXPLORATION_RATE, 0]))
  t.same(r.map((x) => x.candidate.id), ['c', 'b', 'a'])
  t.notMatch(r[0].reason, /exploration/)
})

test('a single candidate is never "explored" and empty lists work', async (t) => {
  const sig = signals(lat, false, [0])
  t.same(createLatencyStrategy().rank([a], sig).map((x) => x.candidate.id), ['a'])
  t.equal(sig.calls(), 0)
  t.same(createLatencyStrategy().rank([], signals(lat, false, [0])), [])
})

test('exploration frequency follows the rate over many draws', async (t) => {
  const s = createLatencyStrategy()
  let seed = 42 // mulberry32
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  let explored = 0
  const N = 20000
  for (let i = 0; i < N; i++) {
    const r = s.rank([a, b, c], { promptTokens: 1, stream: false, latency: (id) => lat[id], inFlight: () => 0, random: rnd })
    if (r[0].candidate.id !== 'c') explored++
  }
  t.ok(explored > N * 0.04 && explored < N * 0.06, `explored ${explored} of ${N}`)
})
