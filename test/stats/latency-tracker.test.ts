import { test } from 'tap'
import { DEFAULT_MAX_DEPLOYMENTS, DEFAULT_MAX_PENDING, LatencyTracker, type LatencySample } from '../../lib/stats/latency-tracker.js'

const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-9

function sample(over: Partial<LatencySample> = {}): LatencySample {
  return { deploymentId: 'd1', model: 'gpt', ok: true, status: 200, totalMs: 100, stream: false, at: 1000, ...over }
}

test('EMA of successful total time, TTFT of streams, completion tokens', async (t) => {
  const tr = new LatencyTracker()
  t.equal(tr.get('d1'), undefined)
  tr.record(sample({ totalMs: 100, completionTokens: 50 }))
  tr.record(sample({ totalMs: 200, completionTokens: 100 }))
  tr.record(sample({ ok: false, status: 500, totalMs: 10_000, completionTokens: 9999 }))
  tr.record(sample({ totalMs: 400, stream: true, ttftMs: 40 }))
  tr.record(sample({ totalMs: 300, stream: false, ttftMs: 999 })) // ttft ignored on non-streams
  tr.record(sample({ totalMs: 500, stream: true, ttftMs: 90 }))
  const v = tr.get('d1')!
  t.equal(v.samples, 6, 'samples counts every attempt')
  // total: 100 -> 120 -> 176 -> 200.8 -> 260.64 (errors excluded)
  t.ok(close(v.emaMs, 260.64), `emaMs ${v.emaMs}`)
  // ttft: 40 -> 50
  t.ok(close(v.emaTtftMs, 50), `emaTtftMs ${v.emaTtftMs}`)
  // completion: 50 -> 60 (the failed attempt's tokens are ignored)
  t.ok(close(v.meanCompletionTokens, 60))
})

test('a custom alpha is used', async (t) => {
  const tr = new LatencyTracker({ alpha: 0.5 })
  tr.record(sample({ totalMs: 100 }))
  tr.record(sample({ totalMs: 200 }))
  t.ok(close(tr.get('d1')!.emaMs, 150))
  t.throws(() => new LatencyTracker({ alpha: 0 }), RangeError)
  t.throws(() => new LatencyTracker({ maxPending: 0 }), RangeError)
})

test('snapshot: error rate and percentiles over the window, per deployment', async (t) => {
  const tr = new LatencyTracker()
  // d1: old failures outside the window
  for (let i = 0; i < 5; i++) tr.record(sample({ ok: false, status: 502, at: 1000 + i }))
  // d1 inside the window: 10 ok (10..100 ms) and 2 errors
  for (let i = 1; i <= 10; i++) tr.record(sample({ totalMs: i * 10, at: 60_000 + i, stream: true, ttftMs: i }))
  tr.record(sample({ ok: false, status: 429, totalMs: 5, at: 60_100 }))
  tr.record(sample({ ok: false, status: 0, totalMs: 5, at: 60_200 }))
  // d2 of another model
  tr.record(sample({ deploymentId: 'd2', model: 'claude', totalMs: 700, at: 61_000 }))

  const snap = tr.snapshot({ windowMs: 30_000, now: 70_000 })
  t.same(snap.map((s) => s.deploymentId), ['d2', 'd1'], 'sorted by model then id')
  const d1 = snap.find((s) => s.deploymentId === 'd1')!
  t.equal(d1.model, 'gpt')
  t.equal(d1.count, 12)
  t.equal(d1.errors, 2)
  t.ok(close(d1.errorRate, 2 / 12))
  t.same(d1.total, { p50: 50, p95: 100, p99: 100 })
  t.same(d1.ttft, { p50: 5, p95: 10, p99: 10 })
  t.equal(d1.lastSampleAt, 60_200)
  t.ok(d1.emaMs !== undefined && d1.emaMs > 10 && d1.emaMs < 100)

  const wide = tr.snapshot({ windowMs: 100_000, now: 70_000, model: 'gpt' })
  t.equal(wide.length, 1)
  t.equal(wide[0].count, 17)
  t.ok(close(wide[0].errorRate, 7 / 17))

  const empty = tr.snapshot({ windowMs: 1000, now: 1_000_000, model: 'claude' })
  t.equal(empty.length, 1)
  t.equal(empty[0].count, 0)
  t.equal(empty[0].errorRate, 0)
  t.same(empty[0].total, {})
  t.equal(empty[0].emaMs, 700, 'EMA survives window expiry')
  t.same(tr.snapshot({ windowMs: 1000, now: 70_000, model: 'nope' }), [])
})

test('drain returns samples since the last drain', async (t) => {
  const tr = new LatencyTracker()
  tr.record(sample({ at: 1 }))
  tr.record(sample({ at: 2 }))
  t.equal(tr.pendingCount, 2)
  t.same(tr.drain().map((s) => s.at), [1, 2])
  t.same(tr.drain(), [])
  tr.record(sample({ at: 3 }))
  t.same(tr.drain().map((s) => s.at), [3])
  t.equal(tr.dropped, 0)
})

test('the pending buffer is capped, dropping the oldest and counting them', async (t) => {
  t.equal(DEFAULT_MAX_PENDING, 10_000)
  const tr = new LatencyTracker({ maxPending: 5 })
  for (let i = 0; i < 12; i++) tr.record(sample({ at: i }))
  t.equal(tr.pendingCount, 5)
  t.equal(tr.dropped, 7)
  t.same(tr.drain().map((s) => s.at), [7, 8, 9, 10, 11])
  t.equal(tr.get('d1')!.samples, 12, 'statistics still count dropped samples')
  for (let i = 20; i < 23; i++) tr.record(sample({ at: i }))
  t.same(tr.drain().map((s) => s.at), [20, 21, 22])
  t.equal(tr.dropped, 7)

  const big = new LatencyTracker()
  for (let i = 0; i < DEFAULT_MAX_PENDING + 3; i++) big.record(sample({ at: i }))
  t.equal(big.pendingCount, DEFAULT_MAX_PENDING)
  t.equal(big.dropped, 3)
  t.equal(big.drain()[0].at, 3)
})

test('aggregates round-trip through load', async (t) => {
  const tr = new LatencyTracker()
  tr.record(sample({ totalMs: 100, completionTokens: 10, at: 5 }))
  tr.record(sample({ ok: false, status: 500, at: 9 }))
  tr.record(sample({ deploymentId: 'd2', model: 'claude', totalMs: 50, stream: true, ttftMs: 20, at: 7 }))
  const agg = tr.aggregates()
  t.same(agg, [
    { deploymentId: 'd1', model: 'gpt', count: 2, errors: 1, emaMs: 100, emaTtftMs: undefined, meanCompletionTokens: 10, lastSampleAt: 9 },
    { deploymentId: 'd2', model: 'claude', count: 1, errors: 0, emaMs: 50, emaTtftMs: 20, meanCompletionTokens: undefined, lastSampleAt: 7 },
  ])

  const fresh = new LatencyTracker()
  fresh.load(agg)
  const byId = (a: { deploymentId: string }, b: { deploymentId: string }) => a.deploymentId.localeCompare(b.deploymentId)
  t.same(fresh.aggregates().sort(byId), agg, 'the same aggregates (in recency order: oldest first)')
  t.same(fresh.get('d1'), { emaMs: 100, emaTtftMs: undefined, samples: 2, meanCompletionTokens: 10 })
  fresh.record(sample({ totalMs: 200, at: 10 }))
  t.ok(close(fresh.get('d1')!.emaMs, 120), 'EMA continues from the loaded value')
  t.equal(fresh.get('d1')!.samples, 3)
  t.same(fresh.drain().length, 1, 'loaded aggregates are not pending samples')
})

test('load does not overwrite live state and sanitizes counts', async (t) => {
  const tr = new LatencyTracker()
  tr.record(sample({ totalMs: 100 }))
  tr.load([
    { deploymentId: 'd1', count: 1000, errors: 10, emaMs: 9999 },
    { deploymentId: 'd3', count: 4.7, errors: 99, emaMs: 30 },
  ])
  t.equal(tr.get('d1')!.emaMs, 100)
  t.equal(tr.get('d1')!.samples, 1)
  const d3 = tr.aggregates().find((a) => a.deploymentId === 'd3')!
  t.equal(d3.count, 4)
  t.equal(d3.errors, 4, 'errors never exceed count')
  t.equal(d3.model, '')
  t.ok(tr.delete('d3'))
  t.equal(tr.get('d3'), undefined)
})

test('window capacity bounds per-deployment samples', async (t) => {
  const tr = new LatencyTracker({ windowCapacity: 4 })
  for (let i = 1; i <= 10; i++) tr.record(sample({ totalMs: i, at: i }))
  const [s] = tr.snapshot({ windowMs: 1000, now: 100 })
  t.equal(s.count, 4)
  t.same(s.total, { p50: 8, p95: 10, p99: 10 })
})

test('the number of tracked deployments is capped: least recently used forgotten first', async (t) => {
  t.equal(DEFAULT_MAX_DEPLOYMENTS, 10_000)
  const tr = new LatencyTracker({ maxDeployments: 3 })
  for (const id of ['a', 'b', 'c']) tr.record(sample({ deploymentId: id }))
  tr.record(sample({ deploymentId: 'a' })) // "a" is now the most recent
  tr.record(sample({ deploymentId: 'd' })) // evicts "b", the least recently used
  t.equal(tr.trackedCount, 3)
  t.same(tr.aggregates().map((a) => a.deploymentId).sort(), ['a', 'c', 'd'])
  t.equal(tr.get('b'), undefined)
  t.equal(tr.get('a')!.samples, 2, 'a kept deployment keeps its state')
  for (let i = 0; i < 1000; i++) tr.record(sample({ deploymentId: `name-${i}` }))
  t.equal(tr.trackedCount, 3, 'never grows past the cap')
  t.throws(() => new LatencyTracker({ maxDeployments: 0 }), RangeError)
})

test('load keeps the most recent aggregates when there are more than the cap', async (t) => {
  const tr = new LatencyTracker({ maxDeployments: 2 })
  tr.load([
    { deploymentId: 'new', count: 1, errors: 0, lastSampleAt: 300 },
    { deploymentId: 'old', count: 1, errors: 0, lastSampleAt: 100 },
    { deploymentId: 'mid', count: 1, errors: 0, lastSampleAt: 200 },
    { deploymentId: 'never', count: 1, errors: 0 },
  ])
  t.same(tr.aggregates().map((a) => a.deploymentId).sort(), ['mid', 'new'])
})
