// The Redis-backed store, as two gateway instances would use it. Needs a Redis:
// TEST_REDIS_URL=redis://127.0.0.1:6379 npx tap test/resilience/redis-cooldown.test.ts
import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { cooldownSettings, type CooldownSettings } from '../../lib/resilience/circuit.js'
import { RedisCooldownStore } from '../../lib/resilience/cooldown.js'
import { buildTestApp } from '../helpers/app.js'
import { chat, duo, json, resilienceConfig, serverError, twoMocks } from '../helpers/resilience.js'

const url = process.env.TEST_REDIS_URL

interface Tap {
  teardown(fn: () => unknown): void
}

/** One "instance": its own command and subscriber connections, sharing `prefix`. */
async function instance(t: Tap, prefix: string, settings: CooldownSettings, name: string) {
  const redis = new Redis(url!, { maxRetriesPerRequest: 2, connectionName: `sy-test-${name}` })
  const subscriber = redis.duplicate()
  const errors: unknown[] = []
  const store = new RedisCooldownStore({ redis, subscriber, prefix, settings: () => settings, instanceId: name, onError: (err) => errors.push(err) })
  await store.start()
  t.teardown(async () => {
    await store.close()
    await subscriber.quit().catch(() => subscriber.disconnect())
    await redis.quit().catch(() => redis.disconnect())
  })
  return { store, redis, errors }
}

/** Polls `fn` until it returns true; bounded, never a timing assertion. */
async function until(what: string, fn: () => boolean, limitMs = 5_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await delay(5)
  }
}

function uniquePrefix(): string {
  return `sy-test:${randomBytes(6).toString('hex')}:`
}

async function cleanup(t: Tap, prefix: string) {
  t.teardown(async () => {
    const redis = new Redis(url!)
    try {
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length) await redis.del(...keys)
    } finally {
      await redis.quit()
    }
  })
}

test('redis cooldown store', { skip: url ? false : 'TEST_REDIS_URL is not set: the Redis-backed cooldown store is not tested' }, async (t) => {
  await t.test('a circuit opened on instance A is skipped by instance B', async (t) => {
    const prefix = uniquePrefix()
    await cleanup(t, prefix)
    const settings = cooldownSettings({ consecutiveFailures: 3, cooldownMs: 60_000 })
    const a = await instance(t, prefix, settings, 'A')
    const b = await instance(t, prefix, settings, 'B')

    await a.store.record('dep-1', 'failure', { error: 'boom' })
    await a.store.record('dep-1', 'failure', { error: 'boom' })
    await until('B sees two failures', () => b.store.health('dep-1').consecutiveFailures === 2)
    t.equal(b.store.unavailable('dep-1'), undefined, 'still closed on B')

    // The third fault comes from B: the count is shared.
    const recorded = b.store.record('dep-1', 'failure', { error: 'upstream_timeout' })
    t.match(b.store.unavailable('dep-1'), /^cooling down until/, 'B skips it at once (no wait on Redis)')
    await recorded
    await until('A sees the open circuit', () => a.store.unavailable('dep-1') !== undefined)
    t.match(a.store.unavailable('dep-1'), /^cooling down until/)
    t.match(a.store.health('dep-1'), { state: 'open', cooldownMs: 60_000, lastError: 'upstream_timeout' })
    t.equal(a.store.unavailable('dep-2'), undefined, 'other deployments unaffected')

    const stored = JSON.parse((await a.redis.get(`${prefix}d:dep-1`))!)
    t.equal(stored.open, true, 'the state is in Redis')
    const ttl = await a.redis.pttl(`${prefix}d:dep-1`)
    t.ok(ttl > 60_000, `with a TTL beyond the cool-down (${ttl} ms)`)

    // A third instance starting now loads the state.
    const c = await instance(t, prefix, settings, 'C')
    t.match(c.store.unavailable('dep-1'), /^cooling down until/, 'a new instance starts with the current state')
    t.same([...a.errors, ...b.errors, ...c.errors], [])
  })

  await t.test('half-open: exactly one probe across instances; failure doubles, success closes', async (t) => {
    const prefix = uniquePrefix()
    await cleanup(t, prefix)
    const settings = cooldownSettings({ consecutiveFailures: 1, cooldownMs: 150, maxCooldownMs: 10_000 })
    const a = await instance(t, prefix, settings, 'A')
    const b = await instance(t, prefix, settings, 'B')

    await a.store.record('dep', 'failure')
    await until('B sees it open', () => b.store.health('dep').state !== 'closed')
    await until('half-open on both', () => a.store.health('dep').state === 'half_open' && b.store.health('dep').state === 'half_open')

    // Both instances want to probe; the slot is won in the background by one.
    const admitted: string[] = []
    await until('one instance admits a probe', () => {
      for (const [name, s] of [['A', a.store], ['B', b.store]] as const) {
        s.unavailable('dep')
        const adm = s.admit('dep')
        if (adm.ok) {
          t.equal(adm.probe, true, `${name}: it is the probe`)
          admitted.push(name)
        }
      }
      return admitted.length > 0
    })
    t.equal(admitted.length, 1, 'exactly one probe')
    const [winner, loser] = admitted[0] === 'A' ? [a, b] : [b, a]
    await until('the loser sees the probe in flight', () => loser.store.health('dep').probeInFlight)
    t.match(loser.store.admit('dep'), { ok: false }, 'the other instance still skips it')
    t.match(winner.store.admit('dep'), { ok: false }, 'and so does the winner, for a second request')

    await winner.store.record('dep', 'failure', { probe: true })
    await until('re-opened everywhere', () => loser.store.health('dep').cooldownMs === 300)
    t.match(winner.store.health('dep'), { cooldownMs: 300, openUntil: Number }, 'cool-down doubled')

    await until('half-open again', () => a.store.health('dep').state === 'half_open' && b.store.health('dep').state === 'half_open')
    let probe: typeof a | undefined
    await until('a probe is admitted', () => {
      for (const s of [a, b]) {
        s.store.unavailable('dep')
        if (!probe && s.store.admit('dep').ok) probe = s
      }
      return probe !== undefined
    })
    await probe!.store.record('dep', 'success', { probe: true })
    await until('closed everywhere', () => a.store.health('dep').state === 'closed' && b.store.health('dep').state === 'closed')
    t.equal(await a.redis.exists(`${prefix}d:dep`), 0, 'a closed, clean record is removed from Redis')
    t.same([...a.errors, ...b.errors], [])
  })

  await t.test('two gateways sharing Redis: a circuit opened by one is skipped by the other', async (t) => {
    const prefix = uniquePrefix()
    await cleanup(t, prefix)
    const { a, b } = await twoMocks(t)
    const gateway = {
      ...resilienceConfig(a, b, [duo('m')], { cooldown: { consecutiveFailures: 3, cooldownMs: 60_000 } }),
      limits: { redisKeyPrefix: prefix },
    }
    const one = await buildTestApp(t, { gateway, env: { REDIS_URL: url } })
    const two = await buildTestApp(t, { gateway, env: { REDIS_URL: url } })
    a.behaviour(() => serverError)

    const first = await one.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
    t.equal(first.statusCode, 200)
    t.equal(first.headers['x-switchyard-deployment'], 'm:b:up-b')
    t.equal(a.requests.length, 3)
    t.equal(one.cooldown.health('m:a:up-a').state, 'open')

    await until('the second gateway learns of it', () => two.cooldown.health('m:a:up-a').state === 'open')
    const second = await two.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('m') })
    t.equal(second.statusCode, 200)
    t.equal(second.headers['x-switchyard-deployment'], 'm:b:up-b')
    t.equal(second.headers['x-switchyard-attempts'], '1', 'the second gateway did not try a')
    t.equal(a.requests.length, 3, 'a got no traffic from the second gateway')
    t.ok(await one.redis!.exists(`${prefix}cooldown:d:m:a:up-a`), 'the record lives under the configured key prefix')
  })

  await t.test('successes on a healthy deployment cost no Redis write', async (t) => {
    const prefix = uniquePrefix()
    await cleanup(t, prefix)
    const a = await instance(t, prefix, cooldownSettings(), 'A')
    for (let i = 0; i < 5; i++) await a.store.record('dep', 'success')
    await a.store.record('dep', 'neutral')
    t.equal(await a.redis.exists(`${prefix}d:dep`), 0)
    await a.store.record('dep', 'failure')
    t.equal(await a.redis.exists(`${prefix}d:dep`), 1, 'a failure is written')
    await a.store.record('dep', 'success')
    const rec = JSON.parse((await a.redis.get(`${prefix}d:dep`))!)
    t.equal(rec.consecutive, 0, 'the success after it resets the consecutive count in Redis')
    t.equal(rec.failures.length, 1, 'while the failure still counts in the window')
  })
})
