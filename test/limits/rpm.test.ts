import { before, test } from 'tap'
import { auth, buildTestApp } from '../helpers/app.js'
import { chat, createKey, mockGateway } from '../helpers/limits.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

test('RPM per key: the 4th request in the minute is refused with OpenAI headers; other keys and IPs do not share the bucket', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway() })
  const a = await createKey(app, { name: 'team-a', rpmLimit: 3 })
  const b = await createKey(app, { name: 'team-b', rpmLimit: 3 })

  for (let i = 0; i < 3; i++) {
    const res = await chat(app, a.headers)
    t.equal(res.statusCode, 200, `request ${i + 1} passes`)
    t.equal(res.headers['x-ratelimit-limit-requests'], '3')
    t.equal(res.headers['x-ratelimit-remaining-requests'], String(2 - i))
    t.match(res.headers['x-ratelimit-reset-requests'], /^\d+s$|^\d+m\d+s$/)
  }
  const refused = await chat(app, a.headers)
  t.equal(refused.statusCode, 429)
  const err = refused.json().error
  t.equal(err.type, 'rate_limit_error')
  t.equal(err.code, 'rate_limit_exceeded')
  t.match(err.message, /requests per minute \(RPM\): limit 3/)
  t.ok(Number(refused.headers['retry-after']) >= 1, 'retry-after in seconds')
  t.ok(Number(refused.headers['retry-after']) <= 60)
  t.equal(refused.headers['x-ratelimit-limit-requests'], '3')
  t.equal(refused.headers['x-ratelimit-remaining-requests'], '0')
  t.ok(refused.headers['x-ratelimit-reset-requests'])

  // The same key from another address is still limited: the bucket is the key.
  const otherIp = await chat(app, a.headers, {}, { remoteAddress: '10.9.8.7' })
  t.equal(otherIp.statusCode, 429, 'not keyed by IP')

  // Another key from the same address has its own bucket.
  const other = await chat(app, b.headers)
  t.equal(other.statusCode, 200, 'another key is unaffected')
  t.equal(other.headers['x-ratelimit-remaining-requests'], '2')

  // Every /v1 route counts, and a refusal does not reach the handler.
  const models = await app.inject({ method: 'GET', url: '/v1/models', headers: a.headers })
  t.equal(models.statusCode, 429)

  // The master key has no limit unless a default applies.
  for (let i = 0; i < 6; i++) {
    const res = await chat(app, auth)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-ratelimit-limit-requests'], undefined, 'no limit, no header')
  }
})

test('RPM default from limits.rpm: applies to keys without their own limit and to the master key', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway({ limits: { rpm: 2 } }) })
  const plain = await createKey(app, { name: 'plain' })
  const own = await createKey(app, { name: 'own', rpmLimit: 4 })

  const codes = async (headers: Record<string, string>, n: number) => {
    const out: number[] = []
    for (let i = 0; i < n; i++) out.push((await chat(app, headers)).statusCode)
    return out
  }
  t.same(await codes(plain.headers, 3), [200, 200, 429], 'the default of 2')
  t.same(await codes(own.headers, 5), [200, 200, 200, 200, 429], "the key's own limit wins")
  t.same(await codes(auth, 3), [200, 200, 429], 'the master key has its own bucket under the default')
})

test('auth runs before the limiter: an invalid key gets 401, never 429, and uses no bucket', async (t) => {
  const app = await buildTestApp(t, { gateway: mockGateway({ limits: { rpm: 1 } }) })
  for (let i = 0; i < 3; i++) {
    const res = await chat(app, { authorization: 'Bearer sk-sy-wrong' })
    t.equal(res.statusCode, 401)
  }
  t.equal((await chat(app, auth)).statusCode, 200, 'invalid keys did not use the master bucket')
})
