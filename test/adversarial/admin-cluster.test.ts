// Adversarial, two real gateway processes (dist/server.js) on one Postgres and
// one Redis: a key revoked on A while B's Redis subscriber is disconnected (so
// B misses the change notification) is refused by B once its subscriber is
// back. The periodic key reload is turned off here, so only the reconnect can
// teach B. B reaches Redis through a TCP relay in this test, which lets it
// hold B's subscriber off while A revokes the key.
// TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test TEST_REDIS_URL=redis://127.0.0.1:6379 \
//   npx tap test/adversarial/admin-cluster.test.ts --disable-coverage
import { test } from 'tap'
import net from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { createSigner } from 'fast-jwt'
import { Redis } from 'ioredis'
import { Agent, request } from 'undici'
import { MASTER_KEY, tempPostgresUrl, testEnv } from '../helpers/app.js'
import { redisPrefix } from '../helpers/limits.js'
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js'

const SKIP = !process.env.TEST_DATABASE_URL || !process.env.TEST_REDIS_URL
  ? 'TEST_DATABASE_URL and TEST_REDIS_URL are not both set: the two-instance revocation test needs a shared Postgres and Redis'
  : false

/** Polls `fn` until `done` accepts its value, at most `limitMs`; returns the last value (the caller asserts it). */
async function pollFor<T>(fn: () => Promise<T>, done: (v: T) => boolean, limitMs = 15_000): Promise<T> {
  const deadline = Date.now() + limitMs
  let value = await fn()
  while (!done(value) && Date.now() < deadline) {
    await delay(100)
    value = await fn()
  }
  return value
}

/** A TCP relay to Redis that can cut chosen connections and refuse new ones for a while. */
async function startRelay(target: URL) {
  const links = new Set<{ client: net.Socket; upstream: net.Socket }>()
  let refusing = false
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy()
      return
    }
    const upstream = net.connect(Number(target.port || 6379), target.hostname)
    const link = { client, upstream }
    links.add(link)
    const drop = () => {
      links.delete(link)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    /** Local ports of the relay's own connections to Redis: how Redis sees B's clients. */
    upstreamPorts: () => new Set([...links].map((l) => l.upstream.localPort)),
    refuse(on: boolean) {
      refusing = on
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const l of links) {
          l.client.destroy()
          l.upstream.destroy()
        }
        server.close(() => resolve())
      }),
  }
}

test('a key revoked while a subscriber was away is refused once it reconnects', { skip: SKIP }, async (t) => {
  const databaseUrl = tempPostgresUrl(t)!
  const redis = redisPrefix(t)!
  const relay = await startRelay(new URL(redis.url))
  t.teardown(() => relay.close())
  const control = new Redis(redis.url)
  t.teardown(() => control.quit())

  const gateway = {
    limits: { redisKeyPrefix: redis.prefix, shedding: { maxEventLoopDelayMs: 0 } },
    providers: [{ name: 'mock', type: 'mock' }],
    models: [{ name: 'm', deployments: [{ provider: 'mock' }] }],
  }
  // No periodic reload: the reconnect alone must bring the revocation.
  const env = { KEYS_RELOAD_INTERVAL_MS: '0' }
  const a = await startGatewayProcess(t, { gateway, databaseUrl, env: { ...env, REDIS_URL: redis.url } })
  const b = await startGatewayProcess(t, { gateway, databaseUrl, env: { ...env, REDIS_URL: relay.url } })

  const agent = new Agent({ keepAliveTimeout: 1_000 })
  t.teardown(() => agent.close())
  const admin = `Bearer ${createSigner({ key: testEnv('').JWT_SECRET!, algorithm: 'HS256', expiresIn: 600_000 })({ sub: 'ops', role: 'admin' })}`
  const call = async (gw: GatewayProcess, method: 'POST' | 'DELETE', path: string, authorization: string, body?: unknown) => {
    const res = await request(`${gw.url}${path}`, {
      method, dispatcher: agent, headersTimeout: 20_000, bodyTimeout: 20_000,
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.body.text()
    let json: Record<string, any> = {}
    try {
      json = JSON.parse(text)
    } catch {
      // the status says enough
    }
    return { status: res.statusCode, json }
  }
  const chat = (gw: GatewayProcess, authorization: string) =>
    call(gw, 'POST', '/v1/chat/completions', authorization, { model: 'm', messages: [{ role: 'user', content: 'hello' }] })

  const created = await call(a, 'POST', '/admin/keys', admin, { name: 'to-revoke' })
  t.equal(created.status, 201)
  const key = `Bearer ${created.json.key as string}`
  const id = created.json.id as string
  const known = await pollFor(() => chat(b, key), (r) => r.status === 200)
  t.equal(known.status, 200, 'B learned the new key through the notification')

  // Cut B's change subscriber (only it: B's other Redis connections stay) and keep it out.
  const clients = String(await control.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
    .split('\n')
    .filter(Boolean)
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])))
  const ports = relay.upstreamPorts()
  // B's change subscriber (plugins/cluster.ts names it); other subscribers (cooldowns) stay connected.
  const bSubscriber = clients.filter((c) => c.name === 'switchyard-sub' && ports.has(Number(String(c.addr).split(':').pop())))
  t.equal(bSubscriber.length, 1, "B's subscriber found among Redis's pub/sub clients", { clients: clients.map((c) => `${c.id} ${c.addr} ${c.name}`), ports: [...ports] })
  relay.refuse(true)
  await control.call('CLIENT', 'KILL', 'ID', bSubscriber[0]!.id!)
  await pollFor(async () => relay.upstreamPorts().size, (n) => n < ports.size, 5_000)

  const revoked = await call(a, 'DELETE', `/admin/keys/${id}`, admin)
  t.equal(revoked.status, 200, 'revoked on A while B is not listening')
  t.equal((await chat(a, key)).status, 401, 'A refuses it at once')
  // The notification is gone; B still has the key until its subscriber returns.
  t.equal((await chat(b, key)).status, 200, 'B missed the notification (nothing else reloads it)')

  relay.refuse(false)
  const refused = await pollFor(() => chat(b, key), (r) => r.status === 401)
  t.equal(refused.status, 401, 'B refuses the revoked key after its subscriber reconnected')
  t.equal(refused.json.error?.code, 'invalid_api_key')
  t.equal((await chat(b, `Bearer ${MASTER_KEY}`)).status, 200, 'B still serves a normal request')

  t.equal(await a.stop(), 0, 'A exits cleanly')
  t.equal(await b.stop(), 0, 'B exits cleanly')
})
