// A template SQLite database for tests: migrated and with the pricing catalog
// stored, i.e. everything a gateway writes once per version at start-up. Each
// test copies it (tempSqliteUrl), so building an app has nothing left to write.
//
// It is written by the gateway's own plugins (prisma: migrations; cost-estimate:
// catalog), never by a copy of their logic, into the OS temp dir under a name
// hashed from what decides its content (migrations, the catalog version, the
// code that writes them): a change to any of them builds a new template, and
// an unchanged tree reuses the one from the last run. An mkdir lock keeps two
// test processes (tap runs two jobs) from building it at once. If it cannot be
// built, tests get an empty database and the gateway migrates it itself.
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Bump when this file changes what a template holds. */
const FORMAT = 1

/** A lock older than this belongs to a builder that died. */
const STALE_LOCK_MS = 60_000
const WAIT_MS = 180_000

function packageJsonOf(name: string): string {
  let dir = dirname(createRequire(import.meta.url).resolve(name))
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8')
      if ((JSON.parse(text) as { name?: string }).name === name) return text
    }
  }
  return 'unknown'
}

/** Hash of everything that decides a template's content. */
export function templateKey(root = ROOT): string {
  const h = createHash('sha256').update(`format ${FORMAT}\n`)
  const migrations = join(root, 'prisma', 'migrations', 'sqlite')
  for (const name of readdirSync(migrations).sort()) {
    h.update(`migration ${name}\n`).update(readFileSync(join(migrations, name, 'migration.sql')))
  }
  for (const file of ['lib/storage/migrate.ts', 'plugins/cost-estimate.ts', 'lib/cost/catalog.ts', 'lib/storage/client.ts']) {
    h.update(`file ${file}\n`).update(readFileSync(join(root, file)))
  }
  h.update('catalog\n').update(packageJsonOf('@pydantic/genai-prices'))
  return h.digest('hex').slice(0, 16)
}

/** Runs the start-up steps that write once per version against an empty SQLite file at `path`. */
async function writeTemplate(path: string): Promise<void> {
  // Imported here: a test that only needs an empty database loads none of it.
  const [{ default: Fastify }, configPlugin, { default: prismaPlugin }, { default: costEstimatePlugin }, { testEnv }] = await Promise.all([
    import('fastify'),
    import('../../plugins/config.js'),
    import('../../plugins/prisma.js'),
    import('../../plugins/cost-estimate.js'),
    import('./env.js'),
  ])
  const app = Fastify({ logger: false, pluginTimeout: 120_000 })
  await app.register(configPlugin.default, { config: configPlugin.loadAppConfig({ gateway: {}, env: testEnv(`file:${path}`) }) })
  await app.register(prismaPlugin)
  await app.register(costEstimatePlugin)
  try {
    await app.ready()
    // One self-contained file (no -wal beside it), so a plain copy is complete; the gateway turns WAL back on.
    await app.db.$queryRawUnsafe('PRAGMA journal_mode=DELETE')
  } finally {
    await app.close()
  }
}

/**
 * The template's path in `dir`, built by `write` unless it exists. Waits while
 * another process holds the lock; takes over a stale lock.
 */
export async function ensureTemplate(dir: string, key: string, write: (path: string) => Promise<void> = writeTemplate): Promise<string> {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${key}.db`)
  const lock = `${path}.lock`
  const deadline = Date.now() + WAIT_MS
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`)
    try {
      mkdirSync(lock)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true })
      } catch {
        // released meanwhile
      }
      await sleep(25)
      continue
    }
    try {
      if (existsSync(path)) break
      // Written aside and renamed: a reader never sees a half-built file.
      const partial = `${path}.${process.pid}.partial`
      rmSync(partial, { force: true })
      try {
        await write(partial)
        renameSync(partial, path)
      } finally {
        for (const f of [partial, `${partial}-journal`, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true })
      }
    } finally {
      rmSync(lock, { recursive: true, force: true })
    }
  }
  return path
}

export const TEMPLATE_DIR = join(tmpdir(), 'switchyard-test-templates')

let ready: Promise<string | undefined> | undefined

/** The template for this tree, built at most once per run; undefined (with a warning) if it cannot be built. */
export function sqliteTemplate(): Promise<string | undefined> {
  ready ??= (async () => {
    if (process.env.SWITCHYARD_TEST_TEMPLATE === '0') return undefined
    return ensureTemplate(TEMPLATE_DIR, templateKey())
  })().catch((err: unknown) => {
    console.error(`test template database unavailable, tests start from empty databases: ${err instanceof Error ? err.message : String(err)}`)
    return undefined
  })
  return ready
}
