// Admin tokens: the gateway refuses a JWT without `exp`; `npm run token`
// requires --role and caps --ttl at 30 days unless --allow-long-ttl.
import { before, test } from 'tap'
import { createSigner, createDecoder } from 'fast-jwt'
import { MAX_TTL_SECONDS, parseTokenArgs, ttlSeconds } from '../../lib/admin/token-args.js'
import { buildTestApp, testEnv } from '../helpers/app.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const SECRET = testEnv('').JWT_SECRET!
const ENV = { JWT_SECRET: SECRET }

test('token arguments: role required, lifetime capped', async (t) => {
  const refuse = (args: string[], message: RegExp, env: Record<string, string | undefined> = ENV) => {
    const r = parseTokenArgs(args, env)
    t.equal(r.ok, false, args.join(' '))
    if (!r.ok) t.match(r.message, message)
  }
  refuse(['--sub', 'ops'], /--role is required/)
  refuse(['--sub', 'ops', '--role', 'root'], /--role must be admin or viewer/)
  refuse(['--role', 'admin'], /--sub NAME is required/)
  refuse(['--sub', 'ops', '--role', 'admin', '--ttl', '31d'], /longer than 30 days; pass --allow-long-ttl/)
  refuse(['--sub', 'ops', '--role', 'admin', '--ttl', '721h'], /longer than 30 days/)
  refuse(['--sub', 'ops', '--role', 'admin', '--ttl', 'forever'], /--ttl must look like/)
  refuse(['--sub', 'ops', '--role', 'admin', '--ttl', '0s'], /--ttl must look like/)
  refuse(['--sub', 'ops', '--role', 'admin'], /JWT_SECRET must be set/, { JWT_SECRET: 'short' })
  refuse(['--sub', 'ops', '--role', 'admin', '--bogus'], /Unknown option/)

  const ok = parseTokenArgs(['--sub', 'ops', '--role', 'viewer'], ENV)
  t.same(ok, { ok: true, secret: SECRET, request: { sub: 'ops', role: 'viewer', expiresInSec: 3600 } }, 'default ttl 1h')
  const month = parseTokenArgs(['--sub', 'ops', '--role', 'admin', '--ttl', '30d'], ENV)
  t.equal(month.ok && month.request.expiresInSec, MAX_TTL_SECONDS, '30d is allowed')
  const long = parseTokenArgs(['--sub', 'ops', '--role', 'admin', '--ttl', '365d', '--allow-long-ttl'], ENV)
  t.equal(long.ok && long.request.expiresInSec, 365 * 86400, '--allow-long-ttl lifts the cap')
  t.equal(ttlSeconds('90m'), 5400)
})

test('admin JWTs: no exp -> 401; with exp -> accepted; tokens the app signs carry exp', async (t) => {
  const app = await buildTestApp(t, { gateway: { providers: [{ name: 'mock', type: 'mock' }], limits: { shedding: { maxEventLoopDelayMs: 0 } } } })
  const get = (token: string) => app.inject({ method: 'GET', url: '/admin/providers', headers: { authorization: `Bearer ${token}` } })

  const forever = createSigner({ key: SECRET, algorithm: 'HS256' })({ sub: 'x', role: 'admin' })
  const refused = await get(forever)
  t.equal(refused.statusCode, 401)
  t.equal(refused.json().error.code, 'invalid_token')
  t.match(refused.json().error.message, /no expiry \(exp claim\)/)

  const expiring = createSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 60_000 })({ sub: 'x', role: 'admin' })
  t.equal((await get(expiring)).statusCode, 200)

  const signed = app.jwt.sign({ sub: 'x', role: 'viewer' })
  const claims = createDecoder()(signed) as { exp?: number; iat?: number }
  t.ok(claims.exp && claims.iat && claims.exp - claims.iat === 3600, 'the app signs with a one-hour default lifetime')
  t.equal((await get(signed)).statusCode, 200)
})
