import { test } from 'tap'
import { InFlightCounter } from '../../lib/stats/inflight.js'

test('acquire counts, release is idempotent', async (t) => {
  const c = new InFlightCounter()
  t.equal(c.get('a'), 0)
  const r1 = c.acquire('a')
  const r2 = c.acquire('a')
  const r3 = c.acquire('b')
  t.equal(c.get('a'), 2)
  t.equal(c.get('b'), 1)
  t.equal(c.total(), 3)
  t.same(c.snapshot(), { a: 2, b: 1 })
  r1()
  r1()
  r1()
  t.equal(c.get('a'), 1, 'double release counted once')
  r2()
  t.equal(c.get('a'), 0)
  t.same(c.snapshot(), { b: 1 }, 'zero entries removed')
  r2()
  t.equal(c.get('a'), 0, 'never negative')
  r3()
  t.equal(c.total(), 0)
})

test('concurrent async requests release to zero', async (t) => {
  const c = new InFlightCounter()
  let peak = 0
  await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const release = c.acquire(i % 2 ? 'x' : 'y')
      peak = Math.max(peak, c.total())
      try {
        await new Promise((r) => setTimeout(r, i % 3))
        if (i % 10 === 0) throw new Error('upstream failed')
      } catch {
        release()
      } finally {
        release()
      }
    }),
  )
  t.equal(peak, 100)
  t.equal(c.total(), 0)
  t.equal(c.get('x'), 0)
})
