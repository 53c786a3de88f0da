// The StoredResponse table (Responses API objects kept for GET
// /v1/responses/{id} and previous_response_id): one repository over the
// shared Db type, the same on SQLite and Postgres. Access rules live in
// lib/frontdoors/responses/conversation.ts; this only reads and writes rows.
import type { Db } from './client.js'
import type { StoredResponseRow } from '../frontdoors/responses/conversation.js'

export interface StoredResponses {
  save(row: StoredResponseRow): Promise<void>
  find(id: string): Promise<StoredResponseRow | null>
  /** True when a row was deleted. */
  delete(id: string): Promise<boolean>
}

export function createStoredResponses(db: Db): StoredResponses {
  return {
    async save(row) {
      await db.storedResponse.create({ data: row })
    },
    find(id) {
      return db.storedResponse.findUnique({ where: { id } })
    },
    async delete(id) {
      const { count } = await db.storedResponse.deleteMany({ where: { id } })
      return count > 0
    },
  }
}
