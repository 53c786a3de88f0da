// The dashboard's server side without a browser: assets and their headers,
// sign-in with a one-time link, the session cookie on /admin, CSRF, roles,
// sign-out, and the statistics routes the pages read.
import { test } from 'tap'
import { startMockOpenAI } from '../mocks/openai.js'
import { createLoginToken, createSession, jwtCodec, SESSION_COOKIE } from '../../lib/ui/session.js'
import { CSRF_COOKIE } from '../../plugins/ui.js'
import { auth, buildTestApp, openaiConfig } from '../helpers/app.js'

type App = Awaited<ReturnType<typeof buildTestApp>>

async function setup(t: Parameters<typeof buildTestApp>[0]) {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  return buildTestApp(t, { gateway: openaiConfig(up.url) })
}

/** Signs in through POST /ui/session: the cookies to send back and the CSRF token. */
async function signIn(app: App, role: 'admin' | 'viewer', sub = 'ann') {
  const token = createLoginToken(jwtCodec(app.jwt), { sub, role })
  const res = await app.inject({ method: 'POST', url: '/ui/session', payload: { token } })
  if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.body}`)
  const cookies = Object.fromEntries(res.cookies.map((c) => [c.name, c.value]))
  return { res, token, cookies, csrf: res.json().csrfToken as string }
}

test('assets: the page, uPlot with immutable caching, security headers', async (t) => {
  const app = await setup(t)
  const page = await app.inject({ url: '/ui/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  const version = (await import('uplot/package.json', { with: { type: 'json' } })).default.version
  t.match(page.body, `/ui/vendor/uplot@${version}/uPlot.esm.js`, 'the versioned uPlot URL is filled in')
  t.notMatch(page.body, '{{uplot}}')
  t.match(page.headers['content-security-policy'], /script-src 'self'/)
  t.match(page.headers['content-security-policy'], /frame-ancestors 'none'/)
  t.equal(page.headers['referrer-policy'], 'no-referrer')
  t.equal((await app.inject({ url: '/ui' })).statusCode, 200, '/ui without the slash too')

  const lib = await app.inject({ url: `/ui/vendor/uplot@${version}/uPlot.esm.js` })
  t.equal(lib.statusCode, 200)
  t.match(lib.headers['cache-control'], /immutable/)
  t.match(lib.headers['cache-control'], /max-age=31536000/)
  t.equal((await app.inject({ url: `/ui/vendor/uplot@${version}/uPlot.cjs.js` })).statusCode, 404, 'only the two files are served')
  t.equal((await app.inject({ url: `/ui/vendor/uplot@${version}/../package.json` })).statusCode, 404)

  const js = await app.inject({ url: '/ui/app.js' })
  t.equal(js.statusCode, 200)
  t.match(js.headers['content-type'], /javascript/)
  t.equal(js.headers['cache-control'], 'no-cache')
  t.equal((await app.inject({ url: '/ui/index.html' })).statusCode, 404, 'the template is not served raw')
})

test('sign-in: the cookie, one use per link, expired links, cross-site requests', async (t) => {
  const app = await setup(t)
  const { res, token, cookies, csrf } = await signIn(app, 'admin')
  const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE)!
  t.ok(cookie, 'a session cookie')
  t.equal(cookie.httpOnly, true)
  t.equal(cookie.sameSite, 'Strict')
  t.equal(cookie.path, '/')
  t.notOk(cookie.secure, 'plain HTTP: not Secure (the browser would drop it)')
  t.ok(cookie.expires && cookie.expires.getTime() > Date.now() + 11 * 3600_000, 'about twelve hours')
  t.same({ ...res.json(), csrfToken: 'x' }, { signedIn: true, sub: 'ann', role: 'admin', expiresAt: res.json().expiresAt, csrfToken: 'x' })
  t.ok(csrf.length > 10)
  t.equal(res.headers['cache-control'], 'no-store')

  const again = await app.inject({ method: 'POST', url: '/ui/session', payload: { token } })
  t.equal(again.statusCode, 401)
  t.equal(again.json().error.code, 'sign_in_link_used')
  t.equal(again.cookies.length, 0, 'no cookie for a used link')

  const expired = createLoginToken(jwtCodec(app.jwt), { sub: 'ann', role: 'admin', now: Date.now() - 11 * 60_000 })
  const late = await app.inject({ method: 'POST', url: '/ui/session', payload: { token: expired } })
  t.equal(late.statusCode, 401)
  t.equal(late.json().error.code, 'sign_in_link_expired')

  const forged = await app.inject({ method: 'POST', url: '/ui/session', payload: { token: `${token.slice(0, -4)}AAAA` } })
  t.equal(forged.json().error.code, 'sign_in_link_invalid')

  const fresh = () => createLoginToken(jwtCodec(app.jwt), { sub: 'ann', role: 'admin' })
  const crossOrigin = await app.inject({ method: 'POST', url: '/ui/session', headers: { origin: 'https://evil.example' }, payload: { token: fresh() } })
  t.equal(crossOrigin.statusCode, 403)
  t.equal(crossOrigin.json().error.code, 'cross_origin')
  const crossSite = await app.inject({ method: 'POST', url: '/ui/session', headers: { 'sec-fetch-site': 'cross-site' }, payload: { token: fresh() } })
  t.equal(crossSite.statusCode, 403)
  const sameOrigin = await app.inject({ method: 'POST', url: '/ui/session', headers: { origin: 'http://localhost:80', host: 'localhost:80' }, payload: { token: fresh() } })
  t.equal(sameOrigin.statusCode, 200, 'the page\'s own origin is fine')
  const behindTls = await app.inject({ method: 'POST', url: '/ui/session', headers: { origin: 'https://localhost:80', host: 'localhost:80' }, payload: { token: fresh() } })
  t.equal(behindTls.statusCode, 200, 'https page, http gateway (a proxy ends TLS): same host, accepted')
  const nullOrigin = await app.inject({ method: 'POST', url: '/ui/session', headers: { origin: 'null' }, payload: { token: fresh() } })
  t.equal(nullOrigin.statusCode, 403, 'a sandboxed page is not the dashboard')
  // A form post (text/plain) is not a JSON object: refused before any token is looked at.
  const form = await app.inject({ method: 'POST', url: '/ui/session', headers: { 'content-type': 'text/plain' }, payload: `token=${fresh()}` })
  t.equal(form.statusCode, 400)

  const who = await app.inject({ url: '/ui/session', cookies })
  t.equal(who.json().signedIn, true)
  t.equal(who.json().sub, 'ann')
  t.same((await app.inject({ url: '/ui/session' })).json(), { signedIn: false }, 'no cookie: not signed in (200, so the page logs no error)')
})

test('the session cookie on /admin: reads; writes need the CSRF token of the same session', async (t) => {
  const app = await setup(t)
  const admin = await signIn(app, 'admin')
  const get = await app.inject({ url: '/admin/routing/strategy', cookies: admin.cookies })
  t.equal(get.statusCode, 200)
  t.equal(get.json().strategy, 'model')

  const post = (cookies: Record<string, string>, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/admin/routing/strategy', cookies, headers, payload: { strategy: 'cost' } })
  const noToken = await post(admin.cookies)
  t.equal(noToken.statusCode, 403)
  t.equal(noToken.json().error.code, 'invalid_csrf_token')
  t.equal((await post(admin.cookies, { 'x-csrf-token': 'forged' })).statusCode, 403)
  const { [CSRF_COOKIE]: _secret, ...withoutSecret } = admin.cookies
  t.equal((await post(withoutSecret, { 'x-csrf-token': admin.csrf })).statusCode, 403, 'the token without its secret cookie')
  const other = await signIn(app, 'admin', 'bob')
  t.equal((await post(admin.cookies, { 'x-csrf-token': other.csrf })).statusCode, 403, 'a token of another session')
  t.equal(app.modelRouting.table.strategy, 'model', 'nothing changed so far')

  const ok = await post(admin.cookies, { 'x-csrf-token': admin.csrf })
  t.equal(ok.statusCode, 200)
  t.equal(app.modelRouting.table.strategy, 'cost')
  const audit = await app.inject({ url: '/admin/audit?action=routing.strategy', cookies: admin.cookies })
  t.equal(audit.json().data[0].actor, 'ann', 'audited under the signed-in name')

  const viewer = await signIn(app, 'viewer', 'vic')
  t.equal((await app.inject({ url: '/admin/keys', cookies: viewer.cookies })).statusCode, 200, 'a viewer reads')
  const replay = await app.inject({ method: 'POST', url: '/admin/routing/strategy', cookies: viewer.cookies, headers: { 'x-csrf-token': viewer.csrf }, payload: { strategy: 'model' } })
  t.equal(replay.statusCode, 403)
  t.equal(replay.json().error.code, 'insufficient_role')
  const dryRun = await app.inject({
    method: 'POST',
    url: '/admin/routing/test',
    cookies: viewer.cookies,
    headers: { 'x-csrf-token': viewer.csrf },
    payload: { request: { model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] } },
  })
  t.equal(dryRun.statusCode, 200, 'a viewer may run the dry run (read-only POST)')
  t.equal(app.modelRouting.table.strategy, 'cost')

  // Dashboard tokens are not Bearer tokens: no second use of a link, no way around sign-out.
  const link = createLoginToken(jwtCodec(app.jwt), { sub: 'ann', role: 'admin' })
  const asBearer = await app.inject({ url: '/admin/keys', headers: { authorization: `Bearer ${link}` } })
  t.equal(asBearer.statusCode, 401)
  t.equal((await app.inject({ url: '/admin/keys', headers: { authorization: `Bearer ${admin.cookies[SESSION_COOKIE]}` } })).statusCode, 401)
  const forged = createSession(jwtCodec(app.jwt), { sub: 'x', role: 'admin' })
  t.equal((await app.inject({ url: '/admin/keys', cookies: { [SESSION_COOKIE]: `${forged.token}x` } })).statusCode, 401, 'a tampered cookie')
  t.equal((await app.inject({ url: '/admin/keys', cookies: { [SESSION_COOKIE]: link } })).statusCode, 401, 'a link token is no session')
})

test('sign-out ends the session for good', async (t) => {
  const app = await setup(t)
  const s = await signIn(app, 'admin')
  const noCsrf = await app.inject({ method: 'DELETE', url: '/ui/session', cookies: s.cookies })
  t.equal(noCsrf.statusCode, 403, 'sign-out needs the CSRF token too')
  const out = await app.inject({ method: 'DELETE', url: '/ui/session', cookies: s.cookies, headers: { 'x-csrf-token': s.csrf } })
  t.equal(out.statusCode, 204)
  const cleared = out.cookies.find((c) => c.name === SESSION_COOKIE)!
  t.equal(cleared.value, '', 'the cookie is cleared')
  const replay = await app.inject({ url: '/admin/keys', cookies: s.cookies })
  t.equal(replay.statusCode, 401, 'the old cookie is refused')
  t.equal(replay.json().error.code, 'session_ended')
  const who = await app.inject({ url: '/ui/session', cookies: s.cookies })
  t.equal(who.json().signedIn, false)
  t.match(who.json().reason, /signed out/)
})

test('statistics for the pages', async (t) => {
  const app = await setup(t)
  const chat = (content: string, stream = false) =>
    app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: { model: 'gpt-test', stream, messages: [{ role: 'user', content }] } })
  for (let i = 0; i < 3; i++) t.equal((await chat(`hello ${i}`)).statusCode, 200)
  t.equal((await chat('streamed', true)).statusCode, 200)
  const { cookies } = await signIn(app, 'viewer')
  const res = await app.inject({ url: '/admin/stats/overview?window=1h', cookies })
  t.equal(res.statusCode, 200)
  const o = res.json()
  t.equal(o.totals.requests, 4)
  t.equal(o.totals.errors, 0)
  t.equal(o.series.t.length, 60)
  t.equal(o.series.requests.at(-1) + (o.series.requests.at(-2) ?? 0), 4, 'in the last step (or the one before, at a minute boundary)')
  t.ok(o.totals.p50Ms !== null && o.totals.p50Ms >= 0)
  t.not(o.totals.ttftP50Ms, null, 'the streamed request has a time to first token')
  t.ok(o.spend.todayUsd > 0, 'spend from the usage records (priced deployment)')
  t.ok(o.spend.monthUsd >= o.spend.todayUsd)
  const day = (await app.inject({ url: '/admin/stats/overview?window=24h', cookies })).json()
  t.equal(day.series.t.length, 288)
  t.equal(day.stepSeconds, 300)
  t.equal((await app.inject({ url: '/admin/stats/overview?window=7d', cookies })).statusCode, 400)

  const deployments = (await app.inject({ url: '/admin/stats/deployments', cookies })).json()
  const d = deployments.data.find((x: { model: string }) => x.model === 'gpt-test')
  t.equal(d.count, 4)
  t.equal(d.inFlight, 0)
  t.ok(d.p50Ms >= 0)
  t.same(deployments.recentErrors, [])
})
