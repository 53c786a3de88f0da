import { test } from 'tap'
import { downsample } from '../../lib/stats/downsample.js'

test('downsample keeps everything under the cap and a uniform subset over it', async (t) => {
  const small = [1, 2, 3]
  t.equal(downsample(small, 5), small)
  const items = Array.from({ length: 1000 }, (_, i) => i)
  const picked = downsample(items, 100)
  t.equal(picked.length, 100)
  t.equal(new Set(picked).size, 100, 'no duplicates')
  t.ok(picked.every((x) => x >= 0 && x < 1000))
  // Over many draws every position is kept about max/n of the time.
  const hits = new Array(10).fill(0)
  for (let k = 0; k < 2000; k++) for (const x of downsample(Array.from({ length: 10 }, (_, i) => i), 5)) hits[x]++
  t.ok(hits.every((h) => h > 800 && h < 1200), `hits ${hits.join(',')}`)
  // Deterministic with an injected random: always j = 0 keeps replacing slot 0.
  t.same(downsample([1, 2, 3, 4], 2, () => 0), [4, 2])
})
