// With a shared database, gateway keys are also reloaded on a timer
// (KEYS_RELOAD_INTERVAL_MS), so a revocation whose notification never
// arrived still takes effect. Needs TEST_DATABASE_URL (Postgres).
import { before, test } from 'tap'
import { setTimeout as delay } from 'node:timers/promises'
import { buildTestApp, tempPostgresUrl } from '../helpers/app.js'
import { createKey } from '../helpers/limits.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const SKIP = process.env.TEST_DATABASE_URL ? false : 'TEST_DATABASE_URL is not set: the periodic key reload needs a shared (Postgres) database'

test('a key revoked behind the gateway\'s back is refused after the next periodic reload', { skip: SKIP }, async (t) => {
  const app = await buildTestApp(t, {
    databaseUrl: tempPostgresUrl(t),
    env: { KEYS_RELOAD_INTERVAL_MS: '200' },
    gateway: { providers: [{ name: 'mock', type: 'mock' }], models: [{ name: 'm', deployments: [{ provider: 'mock' }] }], limits: { shedding: { maxEventLoopDelayMs: 0 } } },
  })
  const key = await createKey(app, { name: 'quiet-revoke' })
  const chat = () => app.inject({ method: 'POST', url: '/v1/chat/completions', headers: key.headers, payload: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } })
  t.equal((await chat()).statusCode, 200)

  // Revoked straight in the database: no change notification at all.
  await app.db.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } })
  let status = (await chat()).statusCode
  for (let i = 0; i < 100 && status !== 401; i++) {
    await delay(100)
    status = (await chat()).statusCode
  }
  t.equal(status, 401, 'refused once the timer reloaded the keys')
})
