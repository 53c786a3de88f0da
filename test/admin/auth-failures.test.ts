// Failed key checks per client address (lib/keys/auth-failures.ts, wired in
// plugins/auth.ts): after the limit, the address gets 429 without its key
// being checked; other addresses and successes are untouched.
import { before, test } from 'tap'
import { addressBucket, AuthFailureLimiter } from '../../lib/keys/auth-failures.js'
import { auth, buildTestApp } from '../helpers/app.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

test('the limiter: a window per address, opened by its first failure', async (t) => {
  let now = 1_000_000
  const limiter = new AuthFailureLimiter({ limit: 3, windowMs: 60_000, now: () => now })
  for (let i = 0; i < 3; i++) {
    t.equal(limiter.blockedFor('1.2.3.4'), 0, `not blocked before failure ${i + 1}`)
    limiter.fail('1.2.3.4')
  }
  t.equal(limiter.blockedFor('1.2.3.4'), 60, 'blocked for the rest of the window')
  t.equal(limiter.blockedFor('1.2.3.5'), 0, 'another address is not')
  now += 45_000
  t.equal(limiter.blockedFor('1.2.3.4'), 15)
  now += 15_000
  t.equal(limiter.blockedFor('1.2.3.4'), 0, 'free again when the window ends')
  t.equal(limiter.size, 0, 'and forgotten')

  t.equal(new AuthFailureLimiter({ limit: 0 }).enabled, false, '0 disables it')
  const off = new AuthFailureLimiter({ limit: 0 })
  for (let i = 0; i < 100; i++) off.fail('1.2.3.4')
  t.equal(off.blockedFor('1.2.3.4'), 0)
})

test('the limiter is bounded: clients choose their addresses', async (t) => {
  let now = 0
  const limiter = new AuthFailureLimiter({ limit: 1, maxEntries: 100, now: () => now })
  for (let i = 0; i < 10_000; i++) {
    now++
    limiter.fail(`10.0.${i >> 8}.${i & 255}`)
  }
  t.ok(limiter.size <= 100, `at most 100 addresses tracked (${limiter.size})`)
  t.ok(limiter.blockedFor('10.0.39.15') > 0, 'the most recent ones are kept')
})

test('address buckets: IPv4-mapped as IPv4, IPv6 per /64', async (t) => {
  t.equal(addressBucket('::ffff:127.0.0.1'), '127.0.0.1')
  t.equal(addressBucket('2001:db8:1:2:aaaa::1'), addressBucket('2001:db8:1:2:bbbb::2'), 'one /64, one bucket')
  t.not(addressBucket('2001:db8:1:2::1'), addressBucket('2001:db8:1:3::1'))
  t.equal(addressBucket(undefined), 'unknown')
})

test('on /v1: the flood gets 429 too_many_auth_failures; other addresses and the key are untouched', async (t) => {
  const app = await buildTestApp(t, {
    gateway: {
      providers: [{ name: 'mock', type: 'mock' }],
      models: [{ name: 'm', deployments: [{ provider: 'mock' }] }],
      limits: { authFailuresPerMinute: 5, shedding: { maxEventLoopDelayMs: 0 } },
    },
  })
  const chat = (remoteAddress: string, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/v1/chat/completions', remoteAddress, headers, payload: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } })

  t.equal((await chat('203.0.113.7', auth)).statusCode, 200, 'a good key is served')
  for (let i = 0; i < 5; i++) {
    const res = await chat('203.0.113.7', i % 2 ? {} : { authorization: 'Bearer sk-guess' })
    t.equal(res.statusCode, 401, `failure ${i + 1} is a 401`)
  }
  const refused = await chat('203.0.113.7', { authorization: 'Bearer sk-guess' })
  t.equal(refused.statusCode, 429)
  t.equal(refused.json().error.code, 'too_many_auth_failures')
  t.equal(refused.json().error.type, 'rate_limit_error')
  t.ok(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 60, `retry-after ${refused.headers['retry-after']}`)
  t.equal((await chat('203.0.113.7', auth)).statusCode, 429, 'the blocked address is refused without its key being checked')
  t.equal((await chat('198.51.100.9', auth)).statusCode, 200, 'a valid key from another address still works')
  t.equal((await chat('198.51.100.9', { authorization: 'Bearer sk-guess' })).statusCode, 401, 'and its own failures start from zero')
})
