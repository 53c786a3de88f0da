// Applies prisma/migrations/<provider>/*/migration.sql in order, once each,
// through the Prisma client. The migration files are produced by
// `prisma migrate diff` (see README); the CLI's own `migrate deploy` would
// work too but costs seconds per start, which every test would pay.
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Db, DbProvider } from './client.js'

const TABLE = '_switchyard_migrations'

export function migrationsDir(root: string, provider: DbProvider): string {
  return join(root, 'prisma', 'migrations', provider)
}

/** Splits a generated migration into statements (no procedural blocks in them). */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\r?\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean)
}

export async function migrate(db: Db, provider: DbProvider, root: string, schema?: string): Promise<string[]> {
  const dir = migrationsDir(root, provider)
  if (!existsSync(dir)) throw new Error(`no migrations for ${provider} at ${dir}`)
  if (schema) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`)
    await db.$executeRawUnsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
  }
  const table = schema ? `"${schema}"."${TABLE}"` : `"${TABLE}"`
  await db.$executeRawUnsafe(
    `CREATE TABLE IF NOT EXISTS ${table} ("name" TEXT PRIMARY KEY, "appliedAt" TEXT NOT NULL)`,
  )
  return db.$transaction(
    async (tx) => {
      // Several instances may start at once against one Postgres database.
      if (provider === 'postgres') await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(74201)`)
      if (schema) await tx.$executeRawUnsafe(`SET LOCAL search_path TO "${schema}"`)
      const rows = await tx.$queryRawUnsafe<Array<{ name: string }>>(`SELECT "name" FROM ${table}`)
      const applied = new Set(rows.map((r) => r.name))
      const pending = readdirSync(dir).filter((n) => !applied.has(n)).sort()
      for (const name of pending) {
        for (const statement of splitStatements(readFileSync(join(dir, name, 'migration.sql'), 'utf8'))) {
          await tx.$executeRawUnsafe(statement)
        }
        await tx.$executeRawUnsafe(`INSERT INTO ${table} ("name", "appliedAt") VALUES ('${name.replace(/'/g, "''")}', '${new Date().toISOString()}')`)
      }
      return pending
    },
    { timeout: 60_000, maxWait: 60_000 },
  )
}
