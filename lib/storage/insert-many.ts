// One multi-row INSERT per batch, through Prisma's raw query path. Prisma's
// createMany compiles a query per call in its wasm query compiler, which at
// thousands of rows a second took most of the gateway's CPU; a raw statement
// with bound parameters skips that work. Values are converted the way Prisma
// stores them in each database (SQLite: ISO text dates, 0/1 booleans).
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

function sqliteValue(v: Value): string | number | null {
  if (v instanceof Date) return v.toISOString().replace('Z', '+00:00')
  if (typeof v === 'boolean') return v ? 1 : 0
  return v
}

export async function insertMany<R extends Record<string, Value>>(db: Db, provider: DbProvider, table: string, rows: R[], schema?: string): Promise<void> {
  if (rows.length === 0) return
  const columns = Object.keys(rows[0]!)
  const perStatement = Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(MAX_PARAMS / columns.length)))
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
    const target = schema ? `"${schema}"."${table}"` : `"${table}"`
    const sql = `INSERT INTO ${target} (${columns.map((c) => `"${c}"`).join(',')}) VALUES ${tuples.join(',')}`
    await db.$executeRawUnsafe(sql, ...params)
  }
}
