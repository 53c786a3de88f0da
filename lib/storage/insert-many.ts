// One multi-row INSERT per batch, through Prisma's raw query path. Prisma's
// createMany compiles a query per call in its wasm query compiler, which at
// thousands of rows a second took most of the gateway's CPU; a raw statement
// with bound parameters skips that work. Values are converted the way Prisma
// stores them in each database (SQLite: ISO text dates, 0/1 booleans).
//
// A batch is written in one transaction (all rows or none) and each row is
// inserted or ignored on its key (ON CONFLICT DO NOTHING), so writing a batch
// again after a failure, or after a success whose answer was lost, neither
// duplicates nor fails on the rows already stored.
import type { Db, DbProvider } from './client.js'

export type Value = string | number | boolean | Date | null
export type Row = Record<string, Value>

/**
 * Rows per statement. SQLite allows 32766 bound parameters, but each large
 * statement makes Prisma's engine allocate in proportion, and the writer
 * thread's memory grew with it; small statements keep it flat.
 */
const MAX_ROWS_PER_STATEMENT = 100
const MAX_PARAMS = 30_000

/** A value as Prisma stores it in SQLite: ISO text dates (+00:00), 0/1 booleans. */
export function sqliteValue(v: Value): string | number | null {
  if (v instanceof Date) return v.toISOString().replace('Z', '+00:00')
  if (typeof v === 'boolean') return v ? 1 : 0
  return v
}

/** The multi-row INSERT ... ON CONFLICT DO NOTHING statements that write `rows`, bounded in rows and parameters each. */
export function insertStatements(provider: DbProvider, table: string, rows: Array<Record<string, Value>>, schema?: string): Array<{ sql: string; params: unknown[] }> {
  const columns = Object.keys(rows[0]!)
  const perStatement = Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(MAX_PARAMS / columns.length)))
  const target = schema ? `"${schema}"."${table}"` : `"${table}"`
  const statements: Array<{ sql: string; params: unknown[] }> = []
  for (let start = 0; start < rows.length; start += perStatement) {
    const slice = rows.slice(start, start + perStatement)
    const params: unknown[] = []
    const tuples = slice.map((row) => {
      const marks = columns.map((c) => {
        params.push(provider === 'sqlite' ? sqliteValue(row[c] as Value) : row[c])
        return provider === 'sqlite' ? '?' : `$${params.length}`
      })
      return `(${marks.join(',')})`
    })
    statements.push({ sql: `INSERT INTO ${target} (${columns.map((c) => `"${c}"`).join(',')}) VALUES ${tuples.join(',')} ON CONFLICT DO NOTHING`, params })
  }
  return statements
}

export async function insertMany<R extends Record<string, Value>>(db: Db, provider: DbProvider, table: string, rows: R[], schema?: string): Promise<void> {
  if (rows.length === 0) return
  const statements = insertStatements(provider, table, rows, schema)
  if (statements.length === 1) {
    await db.$executeRawUnsafe(statements[0]!.sql, ...statements[0]!.params)
    return
  }
  await db.$transaction(
    async (tx) => {
      for (const s of statements) await tx.$executeRawUnsafe(s.sql, ...s.params)
    },
    { timeout: 60_000, maxWait: 60_000 },
  )
}
