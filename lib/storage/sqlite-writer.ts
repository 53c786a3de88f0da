// The writer thread's SQLite path: better-sqlite3 directly, with prepared
// statements kept per statement text, instead of a Prisma client of its own.
// The same statements as the Prisma path (insert-many.ts), stored the way
// Prisma reads them; the writer thread's memory and its CPU per record are
// what this saves (README, Performance).
import Database from 'better-sqlite3'
import { insertStatements, sqliteValue, type Row } from './insert-many.js'
import type { LatencyAggregateRow } from './writer-protocol.js'

/** Prepared statements kept (statement texts differ by table, columns and rows per statement). */
const MAX_PREPARED = 256

/** The writer thread's store for SQLite (writer-thread.ts has the one for Postgres). */
export class SqliteWriter {
  private readonly db: Database.Database
  private readonly prepared = new Map<string, Database.Statement>()

  constructor(path: string) {
    this.db = new Database(path)
    // As the main thread's client (client.ts): WAL, no fsync of the main file per commit, wait on a lock.
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    this.db.pragma('busy_timeout = 5000')
  }

  private statement(sql: string): Database.Statement {
    let s = this.prepared.get(sql)
    if (!s) {
      if (this.prepared.size >= MAX_PREPARED) this.prepared.clear()
      s = this.db.prepare(sql)
      this.prepared.set(sql, s)
    }
    return s
  }

  /** All rows in one transaction, each inserted or ignored on its key (a batch written twice stores each row once). */
  insert(table: string, rows: Row[]): void {
    if (rows.length === 0) return
    const statements = insertStatements('sqlite', table, rows)
    this.db.transaction(() => {
      for (const s of statements) this.statement(s.sql).run(...s.params)
    })()
  }

  upsertLatencyAggregates(rows: LatencyAggregateRow[]): void {
    const upsert = this.statement(
      'INSERT INTO "LatencyAggregate" ("deploymentId","count","errors","emaMs","emaTtftMs","meanCompletionTokens","lastSampleAt","updatedAt") VALUES (?,?,?,?,?,?,?,?) ' +
        'ON CONFLICT ("deploymentId") DO UPDATE SET "count"=excluded."count","errors"=excluded."errors","emaMs"=excluded."emaMs","emaTtftMs"=excluded."emaTtftMs",' +
        '"meanCompletionTokens"=excluded."meanCompletionTokens","lastSampleAt"=excluded."lastSampleAt","updatedAt"=excluded."updatedAt"',
    )
    const updatedAt = sqliteValue(new Date())
    this.db.transaction(() => {
      for (const r of rows) {
        upsert.run(r.deploymentId, r.count, r.errors, r.emaMs, r.emaTtftMs, r.meanCompletionTokens, r.lastSampleAt ? sqliteValue(new Date(r.lastSampleAt)) : null, updatedAt)
      }
    })()
  }

  deleteLatencySamplesBefore(before: string): void {
    this.statement('DELETE FROM "LatencySample" WHERE "createdAt" < ?').run(sqliteValue(new Date(before)))
  }

  close(): void {
    this.prepared.clear()
    this.db.close()
  }
}
