import { test } from 'tap'
import {
  BUCKET_MS,
  binBounds,
  binOf,
  HISTOGRAM_BINS,
  histogramPercentile,
  isErrorStatus,
  RECENT_ERRORS,
  SUB_BUCKETS,
  TrafficStats,
} from '../../lib/stats/traffic.js'

const HOUR = 3600_000
// A fixed clock: 2026-01-01T12:30:30Z, half a minute into a minute.
const NOW = Date.UTC(2026, 0, 1, 12, 30, 30)

test('bins cover every value, contiguously, within the stated relative error', async (t) => {
  t.equal(binOf(0), 0)
  t.equal(binOf(0.5), 0)
  t.equal(binOf(Number.NaN), 0, 'not a number lands in the first bin, never out of range')
  t.equal(binOf(1), 1)
  t.equal(binOf(1e12), HISTOGRAM_BINS - 1, 'huge values land in the last bin')
  for (let b = 1; b < HISTOGRAM_BINS - 1; b++) {
    const [lo, hi] = binBounds(b)
    t.equal(binBounds(b + 1)[0], hi, `bin ${b} ends where bin ${b + 1} starts`)
    if (b % 37 === 0) {
      t.equal(binOf(lo), b, `lower bound of bin ${b} is inside it`)
      t.equal(binOf((lo + hi) / 2), b)
      // The middle of the bin is within half a bin width of any value in it.
      t.ok((hi - lo) / 2 / lo <= 1 / (2 * SUB_BUCKETS) + 1e-9, `bin ${b} is narrow enough`)
    }
  }
  for (const v of [1, 3, 7.5, 100, 250, 999, 1000, 4096, 65_000, 3_000_000]) {
    const [lo, hi] = binBounds(binOf(v))
    t.ok(v >= lo && v < hi, `${v} is within its bin [${lo}, ${hi})`)
  }
})

test('histogram percentiles: nearest rank, middle of the bin', async (t) => {
  const h = new Uint32Array(HISTOGRAM_BINS)
  t.equal(histogramPercentile(h, 50), undefined, 'empty')
  // 90 values of 10 ms, 10 values of 1000 ms
  h[binOf(10)] += 90
  h[binOf(1000)] += 10
  const p50 = histogramPercentile(h, 50)!
  const p95 = histogramPercentile(h, 95)!
  t.ok(Math.abs(p50 - 10) / 10 < 0.07, `p50 ≈ 10 (${p50})`)
  t.ok(Math.abs(p95 - 1000) / 1000 < 0.07, `p95 ≈ 1000 (${p95})`)
  t.equal(histogramPercentile(h, 90), p50, 'rank 90 is still the 10 ms bin')
  t.equal(histogramPercentile(h, 91), p95, 'rank 91 is the first 1000 ms value')
  t.throws(() => histogramPercentile(h, 101), RangeError)
})

test('counts, errors, tokens and cost per minute, over the last hour', async (t) => {
  const s = new TrafficStats()
  // Three minutes ago: 4 requests, one failed
  for (const status of [200, 200, 502, 200]) {
    s.record({ at: NOW - 3 * BUCKET_MS, status, durationMs: 100, promptTokens: 10, completionTokens: 5, costUsd: 0.001 })
  }
  // This minute: 2 streamed requests with TTFT
  s.record({ at: NOW - 1000, status: 200, durationMs: 400, ttftMs: 50, promptTokens: 1, completionTokens: 2, costUsd: 0.5 })
  s.record({ at: NOW, status: 200, durationMs: 400, ttftMs: 50 })

  const r = s.series({ now: NOW, windowMs: HOUR, stepMs: BUCKET_MS })
  t.equal(r.points.length, 60)
  t.equal(r.stepMs, BUCKET_MS)
  const last = r.points.at(-1)!
  t.equal(last.t, Date.UTC(2026, 0, 1, 12, 30), 'the last point is the current minute')
  t.equal(r.from, Date.UTC(2026, 0, 1, 11, 31))
  t.equal(last.requests, 2)
  t.equal(last.rps, 2 / 30, 'the current minute is rated over its elapsed 30 s')
  t.ok(Math.abs(last.ttftP50Ms! - 50) / 50 < 0.07)
  const past = r.points.at(-4)!
  t.equal(past.requests, 4)
  t.equal(past.errors, 1)
  t.equal(past.errorRate, 0.25)
  t.equal(past.rps, 4 / 60)
  t.equal(past.ttftP50Ms, undefined, 'no streams then')
  t.equal(r.points.at(-2)!.requests, 0, 'an empty minute')
  t.equal(r.points.at(-2)!.p50Ms, undefined)

  t.equal(r.totals.requests, 6)
  t.equal(r.totals.errors, 1)
  t.equal(r.totals.promptTokens, 41)
  t.equal(r.totals.completionTokens, 22)
  t.equal(r.totals.costUsd, 0.504)
  // Successful latencies: 3 × 100 ms, 2 × 400 ms; the failure is left out.
  t.ok(Math.abs(r.totals.p50Ms! - 100) / 100 < 0.07, `p50 ${r.totals.p50Ms}`)
  t.ok(Math.abs(r.totals.p95Ms! - 400) / 400 < 0.07, `p95 ${r.totals.p95Ms}`)
})

test('a day in 5-minute steps merges the minute buckets', async (t) => {
  const s = new TrafficStats()
  for (let m = 0; m < 10; m++) s.record({ at: NOW - m * BUCKET_MS, status: 200, durationMs: 10 * (m + 1) })
  s.record({ at: NOW - 23 * HOUR, status: 500 })
  const r = s.series({ now: NOW, windowMs: 24 * HOUR, stepMs: 5 * BUCKET_MS })
  t.equal(r.points.length, 288)
  t.equal(r.points.at(-1)!.t, Date.UTC(2026, 0, 1, 12, 30))
  t.equal(r.points.at(-1)!.requests, 1, '12:30 only (the step has just started)')
  t.equal(r.points.at(-2)!.requests, 5, '12:25 to 12:29')
  t.equal(r.points.at(-3)!.requests, 4, '12:21 to 12:24')
  t.equal(r.totals.requests, 11)
  t.equal(r.totals.errors, 1)
  const merged = r.points.at(-2)!
  // 20..60 ms (minutes 1..5 ago, latencies 20, 30, 40, 50, 60): median 40
  t.ok(Math.abs(merged.p50Ms! - 40) / 40 < 0.07, `merged p50 ${merged.p50Ms}`)
})

test('memory is bounded: old minutes are overwritten, too-old outcomes ignored', async (t) => {
  const s = new TrafficStats({ retentionMs: 10 * BUCKET_MS })
  s.record({ at: NOW - 9 * BUCKET_MS, status: 200 })
  s.record({ at: NOW, status: 200 })
  s.record({ at: NOW + 5 * BUCKET_MS, status: 200 }) // reuses the slot of NOW - 5 min
  s.record({ at: NOW - 9 * BUCKET_MS, status: 200 }) // now older than the retention: ignored
  const r = s.series({ now: NOW + 5 * BUCKET_MS, windowMs: 10 * BUCKET_MS, stepMs: BUCKET_MS })
  t.equal(r.totals.requests, 2, 'the first one fell out of the window, the late one was dropped')
  t.equal((s as unknown as { buckets: unknown[] }).buckets.length, 10, 'one slot per minute of retention')
  t.throws(() => s.series({ now: NOW, windowMs: 11 * BUCKET_MS, stepMs: BUCKET_MS }), RangeError)
  t.throws(() => s.series({ now: NOW, windowMs: 10 * BUCKET_MS, stepMs: 1000 }), RangeError)
  t.throws(() => new TrafficStats({ retentionMs: 1000 }), RangeError)
})

test('statuses and bad figures', async (t) => {
  t.equal(isErrorStatus(200), false)
  t.equal(isErrorStatus(304), false)
  t.equal(isErrorStatus(429), true)
  t.equal(isErrorStatus(503), true)
  t.equal(isErrorStatus(0), true, 'no answer at all')
  const s = new TrafficStats()
  s.record({ at: NOW, status: 200, durationMs: Number.NaN, costUsd: -1, promptTokens: Number.POSITIVE_INFINITY })
  s.record({ at: Number.NaN, status: 200 })
  const r = s.series({ now: NOW, windowMs: HOUR, stepMs: BUCKET_MS })
  t.equal(r.totals.requests, 1)
  t.equal(r.totals.costUsd, 0)
  t.equal(r.totals.promptTokens, 0)
  t.equal(r.totals.p50Ms, undefined)
})

test('recent errors: newest first, bounded', async (t) => {
  const s = new TrafficStats()
  for (let i = 0; i < RECENT_ERRORS + 5; i++) s.noteError({ at: i, deploymentId: 'd', model: 'm', status: 500, reason: `e${i}` })
  const list = s.recentErrors()
  t.equal(list.length, RECENT_ERRORS)
  t.equal(list[0]!.reason, `e${RECENT_ERRORS + 4}`)
  t.equal(s.recentErrors(3).length, 3)
})
