// The --ui arguments of `npm run token` and the link they print, as the script runs them.
import { test } from 'tap'
import Fastify from 'fastify'
import jwt from '@fastify/jwt'
import { parseTokenArgs } from '../../lib/admin/token-args.js'
import { defaultBaseUrl, signInLinkFor, uiLinkOptions } from '../../lib/ui/link-args.js'
import { jwtCodec } from '../../lib/ui/session.js'

const env = { JWT_SECRET: 'test-jwt-secret-test-jwt-secret-0123456789' }

test('--ui takes --base-url, defaults to this host and a ten-minute link', async (t) => {
  const r = uiLinkOptions(['--sub', 'ann', '--role', 'viewer', '--ui'], {})
  t.same(r, { ok: true, value: { link: { baseUrl: 'http://127.0.0.1:8080' }, rest: ['--sub', 'ann', '--role', 'viewer', '--ttl', '10m'] } })
  t.equal(defaultBaseUrl({ PORT: '9000' }), 'http://127.0.0.1:9000')
  const withBase = uiLinkOptions(['--ui', '--base-url', 'https://gw.example.com', '--ttl', '5m'], {})
  t.same(withBase, { ok: true, value: { link: { baseUrl: 'https://gw.example.com' }, rest: ['--ttl', '5m'] } }, 'a given ttl is kept')
  const equals = uiLinkOptions(['--ui', '--base-url=http://10.0.0.1:8080'], {})
  t.same(equals.ok && equals.value.link, { baseUrl: 'http://10.0.0.1:8080' }, '--base-url=URL works too')
  t.same(uiLinkOptions(['--sub', 'a', '--role', 'admin'], {}), { ok: true, value: { rest: ['--sub', 'a', '--role', 'admin'] } }, 'without --ui nothing changes')
  t.equal(uiLinkOptions(['--base-url', 'http://x'], {}).ok, false, '--base-url alone is a mistake')
  t.equal(uiLinkOptions(['--ui', '--base-url'], {}).ok, false)
  t.equal(uiLinkOptions(['--ui', '--base-url', 'ftp://x'], {}).ok, false)
})

test('the printed link: parsed like the script does, signed like the gateway verifies', async (t) => {
  const app = Fastify()
  await app.register(jwt, { secret: env.JWT_SECRET, sign: { algorithm: 'HS256' }, verify: { algorithms: ['HS256'], requiredClaims: ['exp'] } })
  await app.ready()
  t.teardown(() => app.close())
  const ui = uiLinkOptions(['--sub', 'ann', '--role', 'admin', '--ui', '--base-url', 'http://127.0.0.1:1234'], env)
  if (!ui.ok) throw new Error(ui.message)
  const parsed = parseTokenArgs(ui.value.rest, env)
  if (!parsed.ok) throw new Error(parsed.message)
  const link = signInLinkFor(jwtCodec(app.jwt), parsed.request, ui.value.link!.baseUrl)
  t.match(link, /^http:\/\/127\.0\.0\.1:1234\/ui\/#login=[\w-]+\.[\w-]+\.[\w-]+$/)
  const claims = app.jwt.verify<Record<string, unknown>>(link.split('#login=')[1]!)
  t.equal(claims.purpose, 'ui-login')
  t.equal(claims.sub, 'ann')
  t.equal((claims.exp as number) - (claims.iat as number), 600)
  t.throws(() => signInLinkFor(jwtCodec(app.jwt), { ...parsed.request, expiresInSec: 7200 }, 'http://x'), RangeError)
  const noRole = uiLinkOptions(['--sub', 'ann', '--ui'], env)
  t.equal(noRole.ok && parseTokenArgs(noRole.value.rest, env).ok, false, 'a link still needs a role chosen on purpose')
})
