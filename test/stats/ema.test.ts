import { test } from 'tap'
import { ALPHA, Ema } from '../../lib/stats/ema.js'

const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-9

test('default alpha and first sample', async (t) => {
  t.equal(ALPHA, 0.2)
  const e = new Ema()
  t.equal(e.alpha, 0.2)
  t.equal(e.value, undefined)
  t.equal(e.update(10), 10, 'first sample is taken as is')
})

test('exponential smoothing with hand-computed values', async (t) => {
  const e = new Ema()
  e.update(10)
  t.ok(close(e.update(20), 12)) // 0.2*20 + 0.8*10
  t.ok(close(e.update(30), 15.6)) // 0.2*30 + 0.8*12
  t.ok(close(e.value, 15.6))
  const h = new Ema(0.5, 100)
  t.equal(h.value, 100, 'seeded')
  t.ok(close(h.update(0), 50))
  t.ok(close(h.update(0), 25))
})

test('about the last 10 samples matter', async (t) => {
  const e = new Ema()
  for (let i = 0; i < 50; i++) e.update(1000)
  for (let i = 0; i < 10; i++) e.update(0)
  t.ok(close(e.value, 1000 * 0.8 ** 10)) // ~107: 89% of the weight is on the last 10
})

test('non-finite samples are ignored and alpha is validated', async (t) => {
  const e = new Ema()
  e.update(5)
  t.equal(e.update(Number.NaN), 5)
  t.equal(e.update(Number.POSITIVE_INFINITY), 5)
  t.equal(new Ema(0.3, Number.NaN).value, undefined)
  t.throws(() => new Ema(0), RangeError)
  t.throws(() => new Ema(1.5), RangeError)
  t.throws(() => new Ema(Number.NaN), RangeError)
  t.equal(new Ema(1).update(7), 7)
})
