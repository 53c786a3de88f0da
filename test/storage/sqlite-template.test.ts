// The tests' template database (test/helpers/sqlite-template.ts): a copy holds
// exactly what a gateway writes into an empty database at start-up, the
// gateway still migrates an empty database itself, and the build lock lets one
// builder in at a time.
import { test } from 'tap'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildTestApp, emptySqliteUrl, tempSqliteUrl } from '../helpers/app.js'
import { ensureTemplate, templateKey } from '../helpers/sqlite-template.js'
import { createDb } from '../../lib/storage/client.js'
import type { FastifyInstance } from 'fastify'

const gateway = { providers: [], models: [] }

async function stored(app: FastifyInstance) {
  const migrations = await app.db.$queryRawUnsafe<Array<{ name: string }>>('SELECT "name" FROM "_switchyard_migrations" ORDER BY "name"')
  const prices = await app.db.priceEntry.findMany({
    where: { source: 'catalog' },
    select: { providerType: true, model: true, input: true, output: true, cacheRead: true, cacheWrite: true },
    orderBy: [{ providerType: 'asc' }, { model: 'asc' }],
  })
  const version = await app.db.setting.findUnique({ where: { key: 'pricing.catalogVersion' } })
  return { migrations: migrations.map((m) => m.name), prices, version: version?.value }
}

function scratch(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-template-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('a copy of the template is migrated and holds the catalog before any gateway opens it', async (t) => {
  const url = tempSqliteUrl(t)
  const { db } = await createDb(url)
  try {
    const rows = await db.$queryRawUnsafe<Array<{ name: string }>>('SELECT "name" FROM "_switchyard_migrations"')
    t.ok(rows.length > 0, 'migrations recorded')
    t.ok((await db.priceEntry.count({ where: { source: 'catalog' } })) > 100, 'catalog rows stored')
  } finally {
    await db.$disconnect()
  }
})

test('a gateway on a template copy sees what one on an empty database writes itself', async (t) => {
  const fromEmpty = await buildTestApp(t, { gateway, databaseUrl: emptySqliteUrl(t) })
  const fromTemplate = await buildTestApp(t, { gateway, databaseUrl: tempSqliteUrl(t) })
  const a = await stored(fromEmpty)
  const b = await stored(fromTemplate)
  t.ok(a.migrations.length > 0 && a.prices.length > 100 && a.version, 'the empty database was migrated and seeded by the gateway')
  t.same(b, a)
})

test('templateKey changes with a migration and with the catalog code', async (t) => {
  const root = scratch(t)
  cpSync(join(import.meta.dirname, '..', '..', 'prisma', 'migrations', 'sqlite'), join(root, 'prisma', 'migrations', 'sqlite'), { recursive: true })
  for (const f of ['lib/storage/migrate.ts', 'plugins/cost-estimate.ts', 'lib/cost/catalog.ts', 'lib/storage/client.ts']) {
    mkdirSync(join(root, f, '..'), { recursive: true })
    writeFileSync(join(root, f), `// ${f}\n`)
  }
  const first = templateKey(root)
  t.equal(templateKey(root), first, 'stable')
  mkdirSync(join(root, 'prisma', 'migrations', 'sqlite', '9999_later'))
  writeFileSync(join(root, 'prisma', 'migrations', 'sqlite', '9999_later', 'migration.sql'), 'CREATE TABLE "x" ("id" TEXT);\n')
  const second = templateKey(root)
  t.not(second, first, 'a new migration')
  writeFileSync(join(root, 'plugins/cost-estimate.ts'), '// changed\n')
  t.not(templateKey(root), second, 'changed catalog code')
})

test('concurrent callers build the template once', async (t) => {
  const dir = scratch(t)
  let builds = 0
  const write = async (path: string) => {
    builds++
    await new Promise((r) => setTimeout(r, 50))
    writeFileSync(path, 'db')
  }
  const paths = await Promise.all([ensureTemplate(dir, 'k', write), ensureTemplate(dir, 'k', write), ensureTemplate(dir, 'k', write)])
  t.equal(builds, 1)
  t.same(paths, [join(dir, 'k.db'), join(dir, 'k.db'), join(dir, 'k.db')])
  t.notOk(existsSync(join(dir, 'k.db.lock')), 'lock released')
})

test('a caller waits for the lock holder instead of building', async (t) => {
  const dir = scratch(t)
  mkdirSync(join(dir, 'k.db.lock'))
  let builds = 0
  const waiting = ensureTemplate(dir, 'k', async (p) => {
    builds++
    writeFileSync(p, 'mine')
  })
  // The other builder finishes: file first, then the lock.
  await new Promise((r) => setTimeout(r, 60))
  writeFileSync(join(dir, 'k.db'), 'theirs')
  rmSync(join(dir, 'k.db.lock'), { recursive: true })
  t.equal(await waiting, join(dir, 'k.db'))
  t.equal(builds, 0)
})

test('a stale lock (its builder died) is taken over', async (t) => {
  const dir = scratch(t)
  const lock = join(dir, 'k.db.lock')
  mkdirSync(lock)
  const old = new Date(Date.now() - 10 * 60_000)
  utimesSync(lock, old, old)
  let builds = 0
  const path = await ensureTemplate(dir, 'k', async (p) => {
    builds++
    writeFileSync(p, 'db')
  })
  t.equal(builds, 1)
  t.ok(existsSync(path))
  t.notOk(existsSync(lock))
})

test('a failed build leaves no template, no partial file and no lock', async (t) => {
  const dir = scratch(t)
  await t.rejects(
    ensureTemplate(dir, 'k', async (p) => {
      writeFileSync(p, 'half')
      throw new Error('disk full')
    }),
    /disk full/,
  )
  t.same(readdirSync(dir), [])
})
