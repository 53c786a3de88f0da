import { test } from 'tap'
import { createCostStrategy, DEFAULT_EXPECTED_COMPLETION_TOKENS, estimateCost } from '../../lib/strategies/cost.js'
import type { Candidate, LatencyView, Pricing, RoutingSignals } from '../../lib/strategies/types.js'

function cand(id: string, position: number, pricing?: Pricing): Candidate {
  return { id, provider: 'p', providerType: 'openai', model: 'm', upstreamModel: 'm', position, weight: 1, pricing }
}

function signals(o: { promptTokens: number; maxOutputTokens?: number; lat?: Record<string, LatencyView> }): RoutingSignals {
  return {
    promptTokens: o.promptTokens,
    maxOutputTokens: o.maxOutputTokens,
    stream: false,
    latency: (id) => o.lat?.[id],
    inFlight: () => 0,
    random: () => 0.5,
  }
}

const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-12

// A: input-cheap-ish, output 30; B: cheapest input, priciest output; C: flat 5/5.
const A = cand('A', 0, { input: 10, output: 30 })
const B = cand('B', 1, { input: 1, output: 60 })
const C = cand('C', 2, { input: 5, output: 5 })

test('constants and estimateCost', async (t) => {
  t.equal(DEFAULT_EXPECTED_COMPLETION_TOKENS, 256)
  t.ok(close(estimateCost({ input: 3, output: 15 }, 1_000_000, 1_000_000), 18))
  t.ok(close(estimateCost({ input: 3, output: 15 }, 2000, 500), 0.006 + 0.0075))
  t.equal(estimateCost({ input: 3, output: 15 }, 0, 0), 0)
})

test('without max tokens nor history the default completion is used', async (t) => {
  const r = createCostStrategy().rank([A, B, C], signals({ promptTokens: 1000 }))
  // A = 0.01 + 256*30e-6 = 0.01768, B = 0.001 + 256*60e-6 = 0.01636, C = 0.005 + 256*5e-6 = 0.00628
  t.same(r.map((x) => x.candidate.id), ['C', 'B', 'A'])
  t.ok(close(r[0].score, 0.00628))
  t.ok(close(r[1].score, 0.01636))
  t.ok(close(r[2].score, 0.01768))
  t.match(r[0].reason, /256 completion tokens \(default\)/)
})

test('max tokens bounds the expected completion', async (t) => {
  const r = createCostStrategy().rank([A, B, C], signals({ promptTokens: 1000, maxOutputTokens: 4000 }))
  // A = 0.01 + 0.12 = 0.13, B = 0.001 + 0.24 = 0.241, C = 0.005 + 0.02 = 0.025
  t.same(r.map((x) => x.candidate.id), ['C', 'A', 'B'])
  t.ok(close(r[1].score, 0.13))
  t.ok(close(r[2].score, 0.241))
  t.match(r[0].reason, /max tokens/)
})

test('one expected completion for every candidate: the model mean weighted by samples, max tokens wins over it', async (t) => {
  // Only B has history: its mean is the model's, and A and C are priced on it too.
  const lat = { B: { samples: 20, meanCompletionTokens: 10 } }
  const r = createCostStrategy().rank([A, B, C], signals({ promptTokens: 1000, lat }))
  // B = 0.001 + 10*60e-6 = 0.0016, C = 0.005 + 10*5e-6 = 0.00505, A = 0.01 + 10*30e-6 = 0.0103
  t.same(r.map((x) => x.candidate.id), ['B', 'C', 'A'])
  t.ok(close(r[0].score, 0.0016))
  t.ok(close(r[1].score, 0.00505))
  t.ok(close(r[2].score, 0.0103))
  for (const x of r) t.match(x.reason, /\+ 10 completion tokens \(model mean over 20 samples\)/)
  const r2 = createCostStrategy().rank([A, B, C], signals({ promptTokens: 1000, maxOutputTokens: 4000, lat }))
  t.same(r2.map((x) => x.candidate.id), ['C', 'A', 'B'])

  // Two histories: (10 * 30 + 100 * 10) / 40 = 32.5 -> 33 tokens for all.
  const two = { A: { samples: 30, meanCompletionTokens: 10 }, C: { samples: 10, meanCompletionTokens: 100 } }
  const r3 = createCostStrategy().rank([A, B, C], signals({ promptTokens: 1000, lat: two }))
  for (const x of r3) t.match(x.reason, /\+ 33 completion tokens \(model mean over 40 samples\)/)
})

test('the signals\' expected completion and per-candidate prompt counts are used when given', async (t) => {
  const sig = {
    ...signals({ promptTokens: 1000, lat: { A: { samples: 5, meanCompletionTokens: 1 } } }),
    expectedCompletion: { tokens: 100, source: 'model-mean' as const, samples: 9 },
    promptTokensOf: (c: Candidate) => (c.id === 'C' ? 10_000 : 1000),
  }
  const r = createCostStrategy().rank([A, B, C], sig)
  // A = 0.01 + 0.003 = 0.013, B = 0.001 + 0.006 = 0.007, C = 0.05 + 0.0005 = 0.0505
  t.same(r.map((x) => x.candidate.id), ['B', 'A', 'C'])
  t.ok(close(r[2].score, 0.0505))
  t.match(r[2].reason, /for 10000 prompt \+ 100 completion tokens/)
})

test('unpriced candidates go last in declared order, ties by position', async (t) => {
  const D = cand('D', 5)
  const E = cand('E', 4)
  const same1 = cand('S1', 7, { input: 1, output: 1 })
  const same0 = cand('S0', 6, { input: 1, output: 1 })
  const r = createCostStrategy().rank([D, same1, E, A, same0], signals({ promptTokens: 100 }))
  t.same(r.map((x) => x.candidate.id), ['S0', 'S1', 'A', 'E', 'D'])
  t.equal(r[3].score, undefined)
  t.match(r[4].reason, /no pricing/)
})

test('all unpriced keeps declared order', async (t) => {
  const r = createCostStrategy().rank([cand('y', 1), cand('x', 0)], signals({ promptTokens: 100 }))
  t.same(r.map((x) => x.candidate.id), ['x', 'y'])
})
