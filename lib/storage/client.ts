// One data model, two databases. The Prisma schema is generated per provider
// (scripts/prisma-generate.mjs) and both clients expose the same model API, so
// the rest of the code sees one `Db` type whatever DATABASE_URL selects.
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { PrismaClient as SqliteClient } from '../../generated/sqlite/client.js'

export type Db = InstanceType<typeof SqliteClient>
export type DbProvider = 'sqlite' | 'postgres'

export function providerOf(url: string): DbProvider {
  return /^postgres(ql)?:\/\//.test(url) ? 'postgres' : 'sqlite'
}

/** Absolute path of a `file:` URL, relative paths resolved against cwd. */
export function sqlitePath(url: string): string {
  return resolve(url.replace(/^file:/, '').replace(/\?.*$/, ''))
}

/** The `?schema=` of a Postgres URL (Prisma's convention), if any. */
export function postgresSchema(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get('schema') ?? undefined
  } catch {
    return undefined
  }
}

export async function createDb(url: string): Promise<{ db: Db; provider: DbProvider }> {
  const provider = providerOf(url)
  if (provider === 'postgres') {
    // Loaded only when used: each generated client costs as much to load as the other.
    const [{ PrismaPg }, { PrismaClient: PostgresClient }] = await Promise.all([import('@prisma/adapter-pg'), import('../../generated/postgres/client.js')])
    const schema = postgresSchema(url)
    const db = new PostgresClient({ adapter: new PrismaPg({ connectionString: url }, schema ? { schema } : undefined) }) as unknown as Db
    return { db, provider }
  }
  const path = sqlitePath(url)
  mkdirSync(dirname(path), { recursive: true })
  const { PrismaBetterSQLite3 } = await import('@prisma/adapter-better-sqlite3')
  const db = new SqliteClient({ adapter: new PrismaBetterSQLite3({ url: `file:${path}` }) })
  // WAL with synchronous=NORMAL: a batch commit no longer waits on fsync of
  // the main file, and readers never block the writer.
  await db.$queryRawUnsafe('PRAGMA journal_mode=WAL')
  await db.$queryRawUnsafe('PRAGMA synchronous=NORMAL')
  await db.$queryRawUnsafe('PRAGMA busy_timeout=5000')
  return { db, provider }
}
