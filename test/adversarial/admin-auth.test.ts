// Adversarial, against the real server (dist/server.js and dist/scripts/token.js,
// built with `npx tsc -p tsconfig.json`) over real HTTP: key guessing is
// rate-limited per client address, admin tokens must expire, the token CLI
// refuses what it should, and a config that would leak secrets does not start.
// Every case checks the answer and that a normal request still works after.
import { test } from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createDecoder, createSigner } from 'fast-jwt'
import { Agent, request } from 'undici'
import { MASTER_KEY, tempSqliteUrl, testEnv } from '../helpers/app.js'
import { startGatewayProcess } from '../helpers/process.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const JWT_SECRET = testEnv('file:unused').JWT_SECRET!
const GATEWAY = {
  limits: { shedding: { maxEventLoopDelayMs: 0 } },
  providers: [{ name: 'mock', type: 'mock' }],
  models: [{ name: 'm', deployments: [{ provider: 'mock' }] }],
}

/** Runs the built token CLI in an empty directory (no .env), with only the given JWT_SECRET. */
function tokenCli(args: string[], secret: string | undefined = JWT_SECRET) {
  const cwd = mkdtempSync(join(tmpdir(), 'switchyard-token-'))
  try {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH }
    if (secret !== undefined) env.JWT_SECRET = secret
    const r = spawnSync(process.execPath, [join(root, 'dist', 'scripts', 'token.js'), ...args], { cwd, env, encoding: 'utf8', timeout: 30_000 })
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() }
  } finally {
    rmSync(cwd, { recursive: true, force: true })
  }
}

test('key guessing, token lifetimes and the token CLI (real process)', async (t) => {
  // Listening on :: gives two client addresses on one machine: 127.0.0.1
  // (seen as ::ffff:127.0.0.1) and ::1.
  const gw = await startGatewayProcess(t, { gateway: GATEWAY, databaseUrl: tempSqliteUrl(t), env: { HOST: '::' } })
  const port = new URL(gw.url).port
  const agent = new Agent({ keepAliveTimeout: 1_000 })
  t.teardown(() => agent.close())
  const call = async (host: string, method: 'GET' | 'POST', path: string, authorization?: string) => {
    const res = await request(`http://${host}:${port}${path}`, {
      method, dispatcher: agent, headersTimeout: 20_000, bodyTimeout: 20_000,
      headers: { ...(authorization ? { authorization } : {}), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      body: method === 'POST' ? JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) : undefined,
    })
    const text = await res.body.text()
    let json: Record<string, any> = {}
    try {
      json = JSON.parse(text)
    } catch {
      // the status says enough
    }
    return { status: res.statusCode, headers: res.headers, json }
  }
  const chat = (host: string, authorization?: string) => call(host, 'POST', '/v1/chat/completions', authorization)
  const master = `Bearer ${MASTER_KEY}`

  await t.test('a 401 flood from one address gets 429; another address is untouched', async (t) => {
    t.equal((await chat('127.0.0.1', master)).status, 200, 'served before the flood')
    // The default limit: 30 failed key checks per minute.
    for (let i = 0; i < 30; i++) {
      const res = await chat('127.0.0.1', i % 3 === 0 ? undefined : `Bearer sk-guess-${i}`)
      if (res.status !== 401) t.fail(`guess ${i + 1} got ${res.status}, not 401`)
    }
    const refused = await chat('127.0.0.1', 'Bearer sk-guess-31')
    t.equal(refused.status, 429, 'the 31st failure in a minute is refused')
    t.equal(refused.json.error?.code, 'too_many_auth_failures')
    t.ok(Number(refused.headers['retry-after']) >= 1, `retry-after ${refused.headers['retry-after']}`)
    t.equal((await chat('127.0.0.1', master)).status, 429, 'even a valid key from that address waits: keys are not checked')
    const other = await chat('[::1]', master)
    t.equal(other.status, 200, 'a valid key from another address still works')
    t.equal(other.json.object, 'chat.completion')
  })

  await t.test('admin JWTs without exp are refused', async (t) => {
    const forever = createSigner({ key: JWT_SECRET, algorithm: 'HS256' })({ sub: 'ops', role: 'admin' })
    const res = await call('[::1]', 'GET', '/admin/providers', `Bearer ${forever}`)
    t.equal(res.status, 401)
    t.match(res.json.error?.message, /no expiry/)
    const expiring = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 60_000 })({ sub: 'ops', role: 'admin' })
    t.equal((await call('[::1]', 'GET', '/admin/providers', `Bearer ${expiring}`)).status, 200)
    t.equal((await chat('[::1]', master)).status, 200, 'a normal request still works')
  })

  await t.test('npm run token: role required, 30-day cap, tokens accepted', async (t) => {
    const noRole = tokenCli(['--sub', 'ops'])
    t.equal(noRole.status, 2)
    t.match(noRole.stderr, /--role is required/)
    t.equal(noRole.stdout, '', 'no token printed')
    const long = tokenCli(['--sub', 'ops', '--role', 'admin', '--ttl', '90d'])
    t.equal(long.status, 2)
    t.match(long.stderr, /longer than 30 days; pass --allow-long-ttl/)
    t.equal(tokenCli(['--sub', 'ops', '--role', 'admin'], 'too-short').status, 2, 'a short JWT_SECRET is refused')

    const allowed = tokenCli(['--sub', 'ops', '--role', 'admin', '--ttl', '90d', '--allow-long-ttl'])
    t.equal(allowed.status, 0, allowed.stderr)
    const claims = createDecoder()(allowed.stdout) as { exp: number; iat: number; role: string }
    t.equal(claims.exp - claims.iat, 90 * 86400, 'the lifetime asked for')

    const viewer = tokenCli(['--sub', 'ops', '--role', 'viewer', '--ttl', '10m'])
    t.equal(viewer.status, 0, viewer.stderr)
    t.equal((await call('[::1]', 'GET', '/admin/providers', `Bearer ${viewer.stdout}`)).status, 200, 'the gateway accepts a CLI token')
    t.equal((await chat('[::1]', master)).status, 200, 'a normal request still works')
  })

  t.equal(await gw.stop(), 0, 'exits cleanly')
})

test('configurations that would weaken the gateway do not start (real process)', async (t) => {
  const refused = async (opts: { gateway: unknown; env?: Record<string, string> }) => {
    try {
      await startGatewayProcess(t, { ...opts, databaseUrl: tempSqliteUrl(t) })
    } catch (err) {
      return (err as Error).message
    }
    return 'started'
  }
  const shortKey = await refused({ gateway: GATEWAY, env: { MASTER_KEY: 'sk-8char' } })
  t.match(shortKey, /gateway exited with 1/)
  t.match(shortKey, /MASTER_KEY: .*32/)
  t.notMatch(shortKey, /sk-8char/, 'the value is not echoed')

  const secretRef = await refused({ gateway: { ...GATEWAY, providers: [{ name: 'p', type: 'openai', apiKey: '${JWT_SECRET}' }] } })
  t.match(secretRef, /gateway exited with 1/)
  t.match(secretRef, /gateway\.yaml: providers\[0\]\.apiKey: \$\{JWT_SECRET\} may not be used as a provider key: JWT_SECRET is one of the gateway's own secrets/)

  const query = await refused({ gateway: { ...GATEWAY, providers: [{ name: 'p', type: 'openai', baseUrl: 'http://127.0.0.1:1/v1?x=' }] } })
  t.match(query, /gateway\.yaml: providers\[0\]\.baseUrl: must not contain a query/)

  // And the same gateway with a sound config starts and serves.
  const gw = await startGatewayProcess(t, { gateway: GATEWAY, databaseUrl: tempSqliteUrl(t) })
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  })
  t.equal(res.statusCode, 200)
  await res.body.text()
  t.equal(await gw.stop(), 0)
})
