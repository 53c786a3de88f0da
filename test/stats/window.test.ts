import { test } from 'tap'
import { DEFAULT_MAX_WINDOWS, DEFAULT_WINDOW_CAPACITY, nearestRank, SampleWindow, WindowStore } from '../../lib/stats/window.js'

test('nearest-rank percentiles against hand-computed values', async (t) => {
  const w = new SampleWindow()
  t.equal(w.capacity, DEFAULT_WINDOW_CAPACITY)
  t.equal(DEFAULT_WINDOW_CAPACITY, 1000)
  // classic example: 15 20 35 40 50, inserted out of order
  for (const v of [40, 15, 50, 35, 20]) w.push(1000, v)
  t.same(w.percentiles(0, [5, 30, 40, 50, 100]), [15, 20, 20, 35, 50])
  t.same(w.percentiles(0), [35, 50, 50], 'default 50/95/99')

  const w2 = new SampleWindow()
  for (let v = 100; v >= 1; v--) w2.push(1, v) // 1..100
  t.same(w2.percentiles(0, [0, 1, 50, 95, 99, 99.5, 100]), [1, 1, 50, 95, 99, 100, 100])

  const w3 = new SampleWindow()
  for (let v = 1; v <= 10; v++) w3.push(1, v * 10)
  t.same(w3.percentiles(0, [50, 95, 99, 10, 11]), [50, 100, 100, 10, 20])
})

test('nearestRank validates its input', async (t) => {
  t.equal(nearestRank([7], 50), 7)
  t.throws(() => nearestRank([], 50), RangeError)
  t.throws(() => nearestRank([1], 101), RangeError)
  t.throws(() => nearestRank([1], -1), RangeError)
})

test('window expiry by timestamp', async (t) => {
  const w = new SampleWindow()
  for (let ts = 0; ts < 10; ts++) w.push(ts * 1000, ts) // value = second
  t.equal(w.count(0), 10)
  t.equal(w.count(5000), 5)
  t.equal(w.count(5001), 4)
  t.same(w.values(7000), [7, 8, 9])
  t.equal(w.sum(8000), 17)
  t.same(w.percentiles(5000, [50, 100]), [7, 9]) // 5 6 7 8 9
  t.equal(w.percentiles(10_000), undefined, 'nothing in the window')
  t.equal(new SampleWindow().percentiles(0), undefined, 'empty')
})

test('capacity bounds memory and overwrites the oldest', async (t) => {
  const w = new SampleWindow(3)
  w.push(1, 10)
  w.push(2, 20)
  w.push(3, 30)
  t.equal(w.length, 3)
  w.push(4, 40)
  w.push(5, 50)
  t.equal(w.length, 3)
  t.same(w.values(0).sort((a, b) => a - b), [30, 40, 50])
  t.same(w.percentiles(0, [0, 100]), [30, 50])
  w.push(6, Number.NaN)
  t.equal(w.length, 3, 'non-finite ignored')
  w.clear()
  t.equal(w.count(0), 0)
  t.throws(() => new SampleWindow(0), RangeError)
  t.throws(() => new SampleWindow(1.5), RangeError)
})

test('inserts stay O(1): a million pushes into a small window is fast', async (t) => {
  const w = new SampleWindow(1000)
  const start = performance.now()
  for (let i = 0; i < 1_000_000; i++) w.push(i, i)
  t.ok(performance.now() - start < 2000)
  t.equal(w.length, 1000)
  t.same(w.percentiles(0, [0, 100]), [999_000, 999_999])
})

test('window store keeps one window per key', async (t) => {
  const s = new WindowStore(2)
  s.push('a', 1, 1)
  s.push('a', 2, 2)
  s.push('a', 3, 3)
  s.push('b', 1, 100)
  t.equal(s.count('a', 0), 2)
  t.equal(s.count('b', 0), 1)
  t.equal(s.count('zz', 0), 0)
  t.same(s.percentiles('a', 0, [50]), [2])
  t.same(s.percentiles('b', 0, [50]), [100])
  t.equal(s.percentiles('zz', 0), undefined)
  t.same([...s.keys()], ['a', 'b'])
  t.equal(s.get('a')?.capacity, 2)
  t.ok(s.delete('a'))
  t.equal(s.get('a'), undefined)
})

test('window store keeps at most maxKeys windows, least recently pushed forgotten first', async (t) => {
  t.equal(new WindowStore().maxKeys, DEFAULT_MAX_WINDOWS)
  const s = new WindowStore(4, 2)
  s.push('a', 1, 1)
  s.push('b', 1, 1)
  s.push('a', 2, 2) // "a" is now the most recent
  s.push('c', 1, 1) // evicts "b"
  t.same([...s.keys()].sort(), ['a', 'c'])
  t.equal(s.count('a', 0), 2)
  for (let i = 0; i < 100; i++) s.push(`k${i}`, 1, 1)
  t.equal([...s.keys()].length, 2)
})
