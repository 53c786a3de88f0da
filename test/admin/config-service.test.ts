// The configuration service (lib/admin/config-service.ts) on real databases:
// SQLite always, Postgres when TEST_DATABASE_URL is set. A write and its
// audit entries commit together or not at all; the change is published
// (reload here, then broadcast) only after the commit; a failed broadcast
// keeps the write and is logged.
import { test } from 'tap'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import { changeMessage, parseChange, type ChangeKind } from '../../lib/admin/changes.js'
import { createConfigService, type ChangePublisher, type ConfigServiceOptions } from '../../lib/admin/config-service.js'
import { assertConfigUnchanged } from '../../lib/admin/config-state.js'
import { adminErrors } from '../../lib/admin/errors.js'
import { GatewayError } from '../../lib/errors.js'
import { createDb, sqlitePath, type Db, type DbProvider } from '../../lib/storage/client.js'
import { migrate } from '../../lib/storage/migrate.js'
import { loadConfig, seedFromConfig } from '../../lib/storage/config-store.js'
import { parseGatewayConfig } from '../../lib/config/gateway-config.js'
import { buildTestApp, tempPostgresUrl, tempSqliteUrl } from '../helpers/app.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const AT = new Date('2026-01-02T03:04:05.000Z')

interface Tap {
  teardown(fn: () => unknown): void
}

interface Database {
  provider: DbProvider
  url: string
  /** What the service writes through. */
  db: Db
  /** Another connection: it sees only what was committed. */
  other: Db
}

async function open(t: Tap, provider: DbProvider): Promise<Database | undefined> {
  const url = provider === 'sqlite' ? tempSqliteUrl(t) : tempPostgresUrl(t)
  if (!url) return undefined
  const { db } = await createDb(url)
  const schema = provider === 'postgres' ? new URL(url).searchParams.get('schema') ?? undefined : undefined
  await migrate(db, provider, ROOT, schema)
  const { db: other } = await createDb(url)
  // Registered after tempPostgresUrl's teardown, so they run before the schema is dropped.
  t.teardown(async () => {
    await other.$disconnect()
    await db.$disconnect()
  })
  return { provider, url, db, other }
}

/** Records what was published, and whether the write was visible to another connection at that moment. */
function recorder(d: Database, overrides: Partial<ChangePublisher> = {}) {
  const events: string[] = []
  const publisher: ChangePublisher = {
    async apply(kinds) {
      const committed = (await d.other.setting.count({ where: { key: { startsWith: 'test.' } } })) > 0
      events.push(`apply ${kinds.join(',')}${committed ? ' (committed)' : ' (not visible)'}`)
      await overrides.apply?.(kinds)
    },
    async broadcast(kinds) {
      events.push(`broadcast ${kinds.join(',')}`)
      await overrides.broadcast?.(kinds)
    },
  }
  return { events, publisher }
}

function logger() {
  const errors: Array<{ obj: object; msg: string }> = []
  return { errors, log: { error: (obj: object, msg: string) => errors.push({ obj, msg }) } }
}

function service(d: Database, publisher: ChangePublisher, extra: Partial<ConfigServiceOptions> = {}) {
  const { errors, log } = logger()
  const s = createConfigService({ db: d.db, provider: d.provider, publisher, log, now: () => AT, ...extra })
  return { service: s, errors }
}

const setting = (key: string) => ({ data: { key, value: JSON.stringify(key), source: 'admin' } })

for (const provider of ['sqlite', 'postgres'] as const) {
  const skip = provider === 'postgres' && !process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL is not set: Postgres case skipped' : false

  test(`${provider}: a write and its audit entries commit together, then this instance reloads, then the others are told`, { skip }, async (t) => {
    const d = (await open(t, provider))!
    const { events, publisher } = recorder(d)
    const { service: s, errors } = service(d, publisher)
    const result = await s.write({ actor: 'alice', kinds: ['routing', 'rules'] }, async (tx) => {
      await tx.setting.create(setting('test.a'))
      return {
        result: 'done',
        audit: [
          { action: 'thing.create', target: 'test.a', before: null, after: { value: 1 } },
          { action: 'thing.note', target: null, before: undefined, after: 'x' },
        ],
      }
    })
    t.equal(result, 'done')
    t.same(events, ['apply routing,rules (committed)', 'broadcast routing,rules'], 'published after the commit: reload first, then broadcast')
    const rows = await d.other.auditLog.findMany({ orderBy: { action: 'asc' } })
    t.equal(rows.length, 2)
    t.match(rows[0], { actor: 'alice', action: 'thing.create', target: 'test.a', before: 'null', after: '{"value":1}' })
    t.match(rows[1], { actor: 'alice', action: 'thing.note', target: null, before: null, after: '"x"' })
    t.ok(rows.every((r) => r.createdAt.getTime() === AT.getTime()), 'stamped with the service clock')
    t.same(errors, [])
  })

  test(`${provider}: a change that throws leaves neither the write nor an audit row, and publishes nothing`, { skip }, async (t) => {
    const d = (await open(t, provider))!
    const { events, publisher } = recorder(d)
    const { service: s } = service(d, publisher)
    const refused = adminErrors.conflict('name: already exists', 'name')
    const err = await s
      .write({ actor: 'alice', kinds: ['routing'] }, async (tx) => {
        await tx.setting.create(setting('test.half'))
        throw refused
      })
      .catch((e: unknown) => e)
    t.equal(err, refused, 'the route gets its own error back (a 409 here)')
    t.equal(await d.other.setting.count({ where: { key: 'test.half' } }), 0, 'the write is rolled back')
    t.equal(await d.db.setting.count({ where: { key: 'test.half' } }), 0, 'also on the service connection')
    t.equal(await d.other.auditLog.count(), 0, 'no audit row')
    t.same(events, [], 'nothing published')
  })

  test(`${provider}: a failing audit insert undoes the write`, { skip }, async (t) => {
    const d = (await open(t, provider))!
    const { events, publisher } = recorder(d)
    // Every entry gets the same id: the second write's audit insert breaks the primary key.
    const { service: s } = service(d, publisher, { newId: () => 'audit-1' })
    const audit = { action: 'thing.create', target: null, before: null, after: null }
    await s.write({ actor: 'alice', kinds: ['keys'] }, async (tx) => ({ result: await tx.setting.create(setting('test.first')), audit }))
    events.length = 0
    const err = await s.write({ actor: 'bob', kinds: ['keys'] }, async (tx) => ({ result: await tx.setting.create(setting('test.second')), audit })).catch((e: unknown) => e)
    t.ok(err instanceof Error, 'the write fails')
    t.equal(await d.other.setting.count({ where: { key: 'test.second' } }), 0, 'the write went with its audit entry')
    t.equal(await d.other.setting.count({ where: { key: 'test.first' } }), 1, 'the earlier write stays')
    t.same((await d.other.auditLog.findMany()).map((r) => r.actor), ['alice'])
    t.same(events, [], 'nothing published')
  })

  test(`${provider}: a write without an audit entry is refused and rolled back`, { skip }, async (t) => {
    const d = (await open(t, provider))!
    const { events, publisher } = recorder(d)
    const { service: s } = service(d, publisher)
    const err = await s.write({ actor: 'alice', kinds: ['keys'] }, async (tx) => ({ result: await tx.setting.create(setting('test.silent')), audit: [] })).catch((e: unknown) => e)
    t.match(err, { message: /audit entry/ })
    t.equal(await d.other.setting.count({ where: { key: 'test.silent' } }), 0)
    t.same(events, [])
  })

  test(`${provider}: a failed broadcast keeps the write, and is logged`, { skip }, async (t) => {
    const d = (await open(t, provider))!
    const { events, publisher } = recorder(d, { broadcast: async () => Promise.reject(new Error('redis is away')) })
    const { service: s, errors } = service(d, publisher)
    const result = await s.write({ actor: 'alice', kinds: ['pricing'] }, async (tx) => ({
      result: 'saved',
      audit: { action: 'pricing.set', target: 'openai/x', before: null, after: (await tx.setting.create(setting('test.price'))).key },
    }))
    t.equal(result, 'saved', 'the route answers as usual')
    t.equal(await d.other.setting.count({ where: { key: 'test.price' } }), 1)
    t.equal(await d.other.auditLog.count({ where: { action: 'pricing.set' } }), 1)
    t.same(events, ['apply pricing (committed)', 'broadcast pricing'])
    t.equal(errors.length, 1)
    t.match(errors[0], { msg: /broadcast failed/, obj: { kinds: ['pricing'], err: { message: 'redis is away' } } })
  })

  test(`${provider}: a failed reload keeps the write, still tells the others, and answers reload_failed`, { skip }, async (t) => {
    const d = (await open(t, provider))!
    const { events, publisher } = recorder(d, { apply: async () => Promise.reject(new Error('bad table')) })
    const { service: s, errors } = service(d, publisher)
    const err = await s
      .write({ actor: 'alice', kinds: ['routing'] }, async (tx) => ({ result: await tx.setting.create(setting('test.r')), audit: { action: 'x', target: null, before: null, after: null } }))
      .catch((e: unknown) => e)
    t.ok(err instanceof GatewayError)
    t.match(err, { statusCode: 500, code: 'reload_failed', message: /saved and audited/ })
    t.equal(await d.other.setting.count({ where: { key: 'test.r' } }), 1, 'the write is committed')
    t.equal(await d.other.auditLog.count(), 1)
    t.same(events, ['apply routing (committed)', 'broadcast routing'])
    t.match(errors, [{ msg: /could not be applied/ }])
  })

  test(`${provider}: writes take turns, so a reload never reads another write's uncommitted rows`, { skip }, async (t) => {
    const d = (await open(t, provider))!
    let bWrote!: () => void
    const bWriting = new Promise<void>((resolve) => (bWrote = resolve))
    let releaseB!: () => void
    const bMayFinish = new Promise<void>((resolve) => (releaseB = resolve))
    let seenByReload: boolean | undefined
    const publisher: ChangePublisher = {
      async apply() {
        if (seenByReload !== undefined) return
        // Give B every chance to write first, were it allowed to run now (bounded wait, not an assertion).
        await Promise.race([bWriting, sleep(500)])
        // The reload reads through the service's own client, as plugins/changes.ts does.
        seenByReload = (await d.db.setting.count({ where: { key: 'test.b' } })) > 0
      },
      broadcast: async () => undefined,
    }
    const { service: s } = service(d, publisher, { timeoutMs: 10_000 })
    const audit = { action: 'x', target: null, before: null, after: null }
    const a = s.write({ actor: 'a', kinds: ['routing'] }, async (tx) => ({ result: await tx.setting.create(setting('test.a')), audit }))
    const b = s.write({ actor: 'b', kinds: ['routing'] }, async (tx) => {
      await tx.setting.create(setting('test.b'))
      bWrote()
      await bMayFinish
      throw new Error('B rolls back')
    })
    await a
    releaseB()
    t.match(await b.catch((e: unknown) => e), { message: 'B rolls back' })
    t.equal(seenByReload, false, "A's reload did not see B's row, which was never committed")
    t.equal(await d.other.setting.count({ where: { key: 'test.b' } }), 0)
  })
}

test('sqlite: a transaction that read before the usage writer thread committed still writes (it takes the write lock first)', async (t) => {
  const d = (await open(t, 'sqlite'))!
  // The usage writer thread's stand-in: another thread with its own connection, as lib/storage/writer-thread.ts has.
  const driver = createRequire(createRequire(import.meta.url).resolve('@prisma/adapter-better-sqlite3')).resolve('better-sqlite3')
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads')
     const Database = require(workerData.driver)
     const db = new Database(workerData.path, { timeout: 5000 })
     parentPort.on('message', () => {
       try {
         db.prepare('INSERT INTO "Setting" ("key", "value", "source", "updatedAt") VALUES (?, ?, ?, ?)').run('test.worker', '1', 'yaml', new Date().toISOString())
         parentPort.postMessage('committed')
       } catch (err) {
         parentPort.postMessage('failed: ' + err.message)
       }
       db.close()
     })`,
    { eval: true, workerData: { driver, path: sqlitePath(d.url) } },
  )
  t.teardown(() => worker.terminate())
  const workerDone = new Promise<string>((resolve) => worker.once('message', resolve))
  const { events, publisher } = recorder(d)
  const { service: s } = service(d, publisher)
  await s.write({ actor: 'alice', kinds: ['routing'] }, async (tx) => {
    await tx.setting.findMany()
    worker.postMessage('write')
    // Without the lock the other thread commits here at once; with it, it waits for this commit (bounded wait).
    await Promise.race([workerDone, sleep(500)])
    return { result: await tx.setting.create(setting('test.mine')), audit: { action: 'x', target: null, before: null, after: null } }
  })
  t.equal(await workerDone, 'committed', 'the other thread wrote once the transaction committed')
  t.equal(await d.other.setting.count({ where: { key: { in: ['test.mine', 'test.worker'] } } }), 2)
  t.equal(events.length, 2)
})

test('the stored configuration a write was checked against: unchanged passes, changed is 409', async (t) => {
  const d = (await open(t, 'sqlite'))!
  await seedFromConfig(d.db, parseGatewayConfig({ providers: [{ name: 'p', type: 'mock' }], models: [{ name: 'm', deployments: [{ provider: 'p' }] }] }, {}))
  const checked = await loadConfig(d.db)
  await d.db.$transaction(async (tx) => assertConfigUnchanged(tx, checked))
  t.pass('unchanged')
  await d.db.deployment.updateMany({ data: { weight: 3 } })
  const err = await d.db.$transaction(async (tx) => assertConfigUnchanged(tx, checked)).catch((e: unknown) => e)
  t.match(err, { statusCode: 409, code: 'conflict', message: /changed while this request was being checked/ })
})

test('change notifications: own and malformed ones are ignored, unknown kinds dropped', async (t) => {
  const kinds: ChangeKind[] = ['routing', 'keys']
  t.same(parseChange(changeMessage('a', kinds), 'b'), kinds)
  t.equal(parseChange(changeMessage('a', kinds), 'a'), undefined, 'our own')
  t.same(parseChange(JSON.stringify({ from: 'a', kinds: ['keys', 'everything'] }), 'b'), ['keys'])
  t.equal(parseChange(JSON.stringify({ from: 'a', kinds: ['everything'] }), 'b'), undefined)
  t.equal(parseChange('not json', 'b'), undefined)
  t.equal(parseChange('null', 'b'), undefined)
})

test('through the admin API: a refused write changes nothing and leaves no audit entry', async (t) => {
  const app = await buildTestApp(t, {
    gateway: { providers: [{ name: 'mock', type: 'mock' }], models: [{ name: 'm', deployments: [{ provider: 'mock' }] }], routing: { strategy: 'model' } },
  })
  const admin = { authorization: `Bearer ${app.jwt.sign({ sub: 'ops', role: 'admin' })}` }
  // The per-model strategy is valid, the rules fallback is not: neither may be written.
  const res = await app.inject({ method: 'POST', url: '/admin/routing/strategy', headers: admin, payload: { model: 'm', strategy: 'cost', rulesFallback: 'rules' } })
  t.equal(res.statusCode, 400)
  t.equal((await app.db.model.findUniqueOrThrow({ where: { name: 'm' } })).strategy, null, 'the model keeps its strategy')
  t.equal(await app.db.auditLog.count(), 0)
  // Plugins keep to their own objects: changes reloads, cluster announces (alone: nothing to announce).
  t.same(Object.keys(app.changes), ['apply'])
  t.equal(app.cluster.transport, 'none')
  const ok = await app.inject({ method: 'POST', url: '/admin/routing/strategy', headers: admin, payload: { model: 'm', strategy: 'cost', rulesFallback: 'latency' } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json().models, [{ model: 'm', strategy: 'cost' }])
  t.same((await app.db.auditLog.findMany({ orderBy: { action: 'asc' } })).map((r) => [r.actor, r.action]), [['ops', 'routing.rulesFallback'], ['ops', 'routing.strategy.model']])
})
