// Sign-in links and dashboard sessions (lib/ui/session.ts), with the same
// @fastify/jwt signer the gateway and the token script use.
import { test } from 'tap'
import Fastify from 'fastify'
import jwt from '@fastify/jwt'
import { Redis } from 'ioredis'
import {
  createLoginToken,
  createSession,
  endSession,
  jwtCodec,
  LayeredOnceStore,
  MAX_LINK_TTL_SEC,
  MemoryOnceStore,
  parseDurationSec,
  readSession,
  redeemLoginToken,
  RedisOnceStore,
  signInLink,
  type JwtCodec,
} from '../../lib/ui/session.js'
import { redisPrefix } from '../helpers/limits.js'

const SECRET = 'test-jwt-secret-test-jwt-secret-0123456789'

async function codec(t: { teardown(fn: () => unknown): void }, secret = SECRET): Promise<JwtCodec> {
  const app = Fastify()
  await app.register(jwt, { secret, sign: { algorithm: 'HS256' }, verify: { algorithms: ['HS256'] } })
  await app.ready()
  t.teardown(() => app.close())
  return jwtCodec(app.jwt)
}

test('a sign-in link carries a one-time token in its fragment', async (t) => {
  const c = await codec(t)
  const token = createLoginToken(c, { sub: 'alice', role: 'admin' })
  const link = signInLink('http://127.0.0.1:8080', token)
  t.equal(link, `http://127.0.0.1:8080/ui/#login=${token}`)
  t.equal(new URL(link).pathname, '/ui/', 'nothing secret in the path or query')
  t.equal(signInLink('https://gw.example.com/switchyard/', 'x'), 'https://gw.example.com/switchyard/ui/#login=x', 'a path prefix is kept')
  t.throws(() => signInLink('ftp://x', 'x'), RangeError)
  t.throws(() => signInLink('http://x/?a=1', 'x'), RangeError)
  t.throws(() => signInLink('not a url', 'x'), RangeError)

  const claims = c.verify(token)
  t.equal(claims.purpose, 'ui-login')
  t.equal(claims.role, 'admin')
  t.equal((claims.exp as number) - (claims.iat as number), 600, 'ten minutes by default')
  t.type(claims.jti, 'string')
  t.not(c.verify(createLoginToken(c, { sub: 'alice', role: 'admin' })).jti, claims.jti, 'a fresh jti each time')

  const used = new MemoryOnceStore()
  const first = await redeemLoginToken(c, used, token)
  t.same(first, { ok: true, value: { sub: 'alice', role: 'admin' } })
  t.same(await redeemLoginToken(c, used, token), { ok: false, reason: 'used' }, 'a second use is refused')
})

test('expired, forged and misused tokens are refused', async (t) => {
  const c = await codec(t)
  const used = new MemoryOnceStore()
  const old = createLoginToken(c, { sub: 'a', role: 'viewer', now: Date.now() - 3600_000 })
  t.same(await redeemLoginToken(c, used, old), { ok: false, reason: 'expired' })
  const other = await codec(t, 'another-secret-another-secret-0123456789')
  t.same(await redeemLoginToken(c, used, createLoginToken(other, { sub: 'a', role: 'admin' })), { ok: false, reason: 'invalid' })
  t.same(await redeemLoginToken(c, used, 'garbage'), { ok: false, reason: 'invalid' })
  // An admin Bearer token (no purpose) or a session is not a sign-in token, and a sign-in token is not a session.
  const bearer = c.sign({ sub: 'a', role: 'admin', jti: 'j', iat: Math.floor(Date.now() / 1000) }, 60)
  t.same(await redeemLoginToken(c, used, bearer), { ok: false, reason: 'invalid' })
  const { token: session } = createSession(c, { sub: 'a', role: 'admin' })
  t.same(await redeemLoginToken(c, used, session), { ok: false, reason: 'invalid' })
  t.same(await readSession(c, new MemoryOnceStore(), createLoginToken(c, { sub: 'a', role: 'admin' })), { ok: false, reason: 'invalid' })
  t.equal(used.size, 0, 'nothing refused was remembered')

  t.throws(() => createLoginToken(c, { sub: 'a', role: 'admin', ttlSec: MAX_LINK_TTL_SEC + 1 }), RangeError)
  t.throws(() => createLoginToken(c, { sub: '', role: 'admin' }), RangeError)
  t.throws(() => createLoginToken(c, { sub: 'a', role: 'root' as 'admin' }), RangeError)
})

test('a session lasts until it expires or is ended', async (t) => {
  const c = await codec(t)
  const ended = new MemoryOnceStore()
  const { token, session } = createSession(c, { sub: 'bob', role: 'viewer' })
  t.equal(Math.round((session.expiresAt - Date.now()) / 3600_000), 12, 'twelve hours by default')
  const read = await readSession(c, ended, token)
  t.same(read, { ok: true, value: session })
  await endSession(ended, session)
  t.same(await readSession(c, ended, token), { ok: false, reason: 'ended' })
  const stale = createSession(c, { sub: 'bob', role: 'viewer' }, { now: Date.now() - 13 * 3600_000 })
  t.same(await readSession(c, ended, stale.token), { ok: false, reason: 'expired' })
})

test('the memory store forgets ids once they expire', async (t) => {
  let now = 1000
  const s = new MemoryOnceStore(() => now)
  t.equal(await s.add('a', 2000), true)
  t.equal(await s.add('a', 2000), false)
  t.equal(await s.has('a'), true)
  now = 2000
  t.equal(await s.has('a'), false)
  t.equal(await s.add('b', 5000), true)
  t.equal(s.size, 1, 'the expired id was swept')
})

test('layered store: an id seen by another instance (the shared layer) is refused', async (t) => {
  const shared = new MemoryOnceStore()
  const a = new LayeredOnceStore([new MemoryOnceStore(), shared])
  const b = new LayeredOnceStore([new MemoryOnceStore(), shared])
  const until = Date.now() + 60_000
  t.equal(await a.add('jti-1', until), true)
  t.equal(await b.add('jti-1', until), false, 'the other instance refuses it')
  t.equal(await b.has('jti-1'), true)
  t.equal(await a.add('jti-1', until), false)
})

test('durations', async (t) => {
  t.equal(parseDurationSec('10m'), 600)
  t.equal(parseDurationSec('12h'), 43_200)
  t.equal(parseDurationSec('2d'), 172_800)
  t.equal(parseDurationSec('45s'), 45)
  t.equal(parseDurationSec('10'), undefined)
  t.equal(parseDurationSec('-1m'), undefined)
})

test('Redis store: SET NX across two instances', async (t) => {
  const r = redisPrefix(t)
  if (!r) {
    t.skip('set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run the Redis store test')
    return
  }
  const one = new Redis(r.url, { maxRetriesPerRequest: 2 })
  const two = new Redis(r.url, { maxRetriesPerRequest: 2 })
  t.teardown(() => {
    one.disconnect()
    two.disconnect()
  })
  const a = new RedisOnceStore(one, r.prefix)
  const b = new RedisOnceStore(two, r.prefix)
  const until = Date.now() + 60_000
  t.equal(await a.add('jti-x', until), true)
  t.equal(await b.add('jti-x', until), false)
  t.equal(await b.has('jti-x'), true)
  t.equal(await b.has('jti-y'), false)
  const ttl = await one.pttl(`${r.prefix}jti-x`)
  t.ok(ttl > 0 && ttl <= 60_000, `kept only until the token expires (${ttl} ms)`)
})
