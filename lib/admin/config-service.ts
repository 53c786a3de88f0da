// Every admin write goes through here. The write's checks against the stored
// state, the write and its audit entries run in ONE database transaction, so
// a write that fails leaves neither a change nor an audit row. Only after the
// commit is the change published: this instance reloads its in-memory state,
// then the other instances are told. A failed broadcast does not undo the
// write (it is committed); it is logged, and the other instances catch up at
// their next reload (cluster: after a reconnect, and periodically for keys).
//
// Database notes (Prisma 6.19 driver adapters, checked on both):
//   - Postgres (pg): each interactive transaction runs on its own pooled
//     connection, so other requests never see it before it commits.
//   - SQLite (better-sqlite3): the adapter has ONE connection and a mutex that
//     orders transactions, but plain queries from elsewhere in the process run
//     on that connection too, inside whatever transaction is open: they see
//     its uncommitted rows, and their writes would commit or roll back with
//     it. So writes here are serialized, and this instance's reload runs in
//     the same turn, after the commit: it never reads another write's
//     uncommitted rows. (A second connection in the same thread is no way
//     out: better-sqlite3 is synchronous, so waiting for the other
//     connection's lock blocks the event loop that would release it.)
//     The transaction also takes SQLite's write lock first: SQLite starts a
//     transaction deferred, and one that read before another connection
//     (the usage writer thread) committed cannot write afterwards
//     ("database is locked", without waiting).
import { randomUUID } from 'node:crypto'
import type { Prisma } from '../../generated/sqlite/client.js'
import type { Db, DbProvider } from '../storage/client.js'
import type { ChangeKind } from './changes.js'
import { adminErrors } from './errors.js'

/** The transaction a write's callback reads and writes through (same model API as the client). */
export type Tx = Prisma.TransactionClient

export interface AuditEntry {
  /** e.g. provider.update, key.revoke. */
  action: string
  target: string | null
  /** JSON-serializable; secrets already masked by the caller. */
  before: unknown
  after: unknown
}

/** How a committed change reaches the in-memory state. */
export interface ChangePublisher {
  /** Rebuilds this instance's caches of the given kinds from the database. */
  apply(kinds: readonly ChangeKind[]): Promise<void>
  /** Tells the other instances; a no-op when there are none. */
  broadcast(kinds: readonly ChangeKind[]): Promise<void>
}

export interface ServiceLog {
  error(obj: object, msg: string): void
}

export interface ConfigServiceOptions {
  db: Db
  provider: DbProvider
  publisher: ChangePublisher
  log: ServiceLog
  now?: () => Date
  newId?: () => string
  /** Longest a transaction may run (a whole config import included). */
  timeoutMs?: number
}

export interface WriteRequest {
  /** Who writes: the admin token's subject. */
  actor: string
  /** What to reload and announce once committed. */
  kinds: readonly ChangeKind[]
}

export interface WriteOutcome<R> {
  /** What the route answers with. */
  result: R
  /** At least one entry. */
  audit: AuditEntry | AuditEntry[]
}

export interface ConfigService {
  /**
   * Runs `change` in a transaction with its audit entries, then publishes.
   * Whatever `change` throws (a 404, a 409) rolls everything back and is
   * rethrown; nothing is published then.
   */
  write<R>(request: WriteRequest, change: (tx: Tx) => Promise<WriteOutcome<R>>): Promise<R>
}

// A write statement that changes nothing but makes SQLite take the write lock now.
const TAKE_SQLITE_WRITE_LOCK = 'UPDATE "AuditLog" SET "id" = "id" WHERE 0'

export function createConfigService(opts: ConfigServiceOptions): ConfigService {
  const now = opts.now ?? (() => new Date())
  const newId = opts.newId ?? randomUUID
  const timeout = opts.timeoutMs ?? 60_000
  // One write at a time in this instance, its local reload included (see above).
  let turn: Promise<unknown> = Promise.resolve()
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = turn.then(fn, fn)
    turn = run.catch(() => undefined)
    return run
  }

  const publishLocally = async (kinds: readonly ChangeKind[]): Promise<unknown> => {
    try {
      await opts.publisher.apply(kinds)
      return undefined
    } catch (err) {
      opts.log.error({ err, kinds }, 'a committed admin change could not be applied on this instance')
      return err
    }
  }

  return {
    async write<R>(request: WriteRequest, change: (tx: Tx) => Promise<WriteOutcome<R>>): Promise<R> {
      const { result, reloadError } = await serialized(async () => {
        const result = await opts.db.$transaction(
          async (tx) => {
            if (opts.provider === 'sqlite') await tx.$executeRawUnsafe(TAKE_SQLITE_WRITE_LOCK)
            const outcome = await change(tx)
            const entries = Array.isArray(outcome.audit) ? outcome.audit : [outcome.audit]
            if (entries.length === 0) throw new Error('an admin write must leave an audit entry')
            const at = now()
            await tx.auditLog.createMany({
              data: entries.map((e) => ({
                id: newId(),
                actor: request.actor,
                action: e.action,
                target: e.target,
                before: e.before === undefined ? null : JSON.stringify(e.before),
                after: e.after === undefined ? null : JSON.stringify(e.after),
                createdAt: at,
              })),
            })
            return outcome.result
          },
          { maxWait: timeout, timeout },
        )
        return { result, reloadError: await publishLocally(request.kinds) }
      })
      // Outside the turn: a slow message bus must not hold up the next write.
      await opts.publisher.broadcast(request.kinds).catch((err: unknown) => {
        opts.log.error({ err, kinds: request.kinds }, 'change broadcast failed: other instances pick the change up at their next reload')
      })
      if (reloadError) throw adminErrors.reloadFailed()
      return result
    },
  }
}
