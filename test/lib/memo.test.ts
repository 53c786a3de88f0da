import { test } from 'tap'
import { memoByString } from '../../lib/memo.js'
import { upstreamTarget } from '../../lib/proxy/pools.js'
import { serverOf } from '../../lib/observability/semconv.js'

test('memoByString computes each key once and returns the same value', async (t) => {
  const calls: string[] = []
  const f = memoByString((k) => {
    calls.push(k)
    return { k }
  })
  const a = f('x')
  t.equal(f('x'), a, 'second call returns the cached object')
  f('y')
  t.same(calls, ['x', 'y'])
})

test('memoByString caches undefined results but not throws', async (t) => {
  let n = 0
  const undef = memoByString(() => {
    n++
    return undefined
  })
  undef('a')
  undef('a')
  t.equal(n, 1, 'undefined is a cached result')
  let m = 0
  const thrower = memoByString((k) => {
    m++
    if (k === 'bad') throw new Error('bad key')
    return k
  })
  t.throws(() => thrower('bad'), /bad key/)
  t.throws(() => thrower('bad'), /bad key/)
  t.equal(m, 2, 'a throw is recomputed every time')
})

test('memoByString is bounded: it starts over when full', async (t) => {
  let n = 0
  const f = memoByString((k) => {
    n++
    return k.length
  }, 3)
  for (const k of ['a', 'b', 'c']) f(k)
  t.equal(n, 3)
  f('d') // full: cleared, then d cached
  f('a') // recomputed
  t.equal(n, 5)
  f('d')
  t.equal(n, 5, 'entries added after the clear stay cached')
})

test('upstreamTarget: origin and path with query, frozen; invalid URLs throw', async (t) => {
  const target = upstreamTarget('https://example.test:8443/openai/deployments/x/chat/completions?api-version=2024-10-21')
  t.equal(target.origin, 'https://example.test:8443')
  t.equal(target.path, '/openai/deployments/x/chat/completions?api-version=2024-10-21')
  t.ok(Object.isFrozen(target))
  t.equal(upstreamTarget('http://127.0.0.1:9/v1/chat/completions').path, '/v1/chat/completions')
  t.throws(() => upstreamTarget('not a url'))
})

test('serverOf: default ports, bare IPv6 address, undefined for garbage', async (t) => {
  t.same(serverOf('https://api.example.test/v1'), { address: 'api.example.test', port: 443 })
  t.same(serverOf('http://[::1]:8080/v1'), { address: '::1', port: 8080 })
  t.equal(serverOf('::::'), undefined)
  t.equal(serverOf('https://api.example.test/v1'), serverOf('https://api.example.test/v1'), 'memoised')
})
