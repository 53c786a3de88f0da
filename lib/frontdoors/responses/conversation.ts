// Stored responses and previous_response_id, without the database: who may
// read a stored response, the input items kept with it, the conversation
// rebuilt from a chain of stored responses (bounded), and the Response
// (or its input items list) read back from a stored row.
//
// A stored response belongs to the key that created it, or to its tenant
// when the key has one: every key of that tenant may read, continue and
// delete it. Anyone else gets the same 404 as for an id that never existed.
import { randomIds, type IdGenerator } from '../ids.js'
import { isObject } from '../shared.js'
import { responsesErrors } from './errors.js'
import type { InputItem, OutputItem, Response, ResponseUsage } from './types.js'

export interface Owner {
  keyId: string | null
  tenant: string | null
}

/** A StoredResponse row as the repository reads and writes it (JSON columns as text). */
export interface StoredResponseRow {
  id: string
  keyId: string | null
  tenant: string | null
  model: string
  input: string
  instructions: string | null
  output: string
  previousResponseId: string | null
  usage: string | null
  status: string
  envelope: string
  createdAt: Date
}

/** At most this many stored responses are replayed as one conversation. */
export const MAX_CHAIN_RESPONSES = 500
/** At most this much stored JSON (input and output items, in UTF-16 units) is replayed. */
export const MAX_HISTORY_CHARS = 32 * 1024 * 1024
/** Kept in the envelope column, never shown: the response's place in its chain (1 = no previous response). */
const DEPTH_FIELD = 'x_switchyard_chain_depth'

export function ownerOf(identity: { id: string | null; tenant?: string | null }): Owner {
  return { keyId: identity.id, tenant: identity.tenant ?? null }
}

export function mayAccess(row: Pick<StoredResponseRow, 'keyId' | 'tenant'>, owner: Owner): boolean {
  return row.tenant !== null ? owner.tenant === row.tenant : owner.tenant === null && row.keyId === owner.keyId
}

const ITEM_PREFIX: Record<string, string> = {
  message: 'msg_',
  function_call: 'fc_',
  function_call_output: 'fco_',
  custom_tool_call: 'ctc_',
  custom_tool_call_output: 'ctco_',
  reasoning: 'rs_',
}

/**
 * The request's input as the items kept with the stored response and listed
 * by input_items: a string becomes one user message, string contents become
 * text parts, and every item gets an id (the client's when it sent one).
 */
export function inputItems(input: unknown, ids: IdGenerator = randomIds): InputItem[] {
  if (typeof input === 'string') return [{ type: 'message', id: ids('msg_'), role: 'user', content: [{ type: 'input_text', text: input }] }]
  if (!Array.isArray(input)) return []
  return input.filter(isObject).map((raw) => {
    const item = { ...raw } as Record<string, unknown>
    const type = typeof item.type === 'string' ? item.type : 'message'
    item.type = type
    if (type === 'message' && typeof item.content === 'string') {
      item.content = [{ type: item.role === 'assistant' ? 'output_text' : 'input_text', text: item.content }]
    }
    if (typeof item.id !== 'string' || item.id === '') item.id = ids(ITEM_PREFIX[type] ?? 'item_')
    return item as InputItem
  })
}

function parseArray(text: string): unknown[] {
  try {
    const value: unknown = JSON.parse(text)
    return Array.isArray(value) ? value : []
  } catch {
    return []
  }
}

function parseObject(text: string | null): Record<string, unknown> | undefined {
  if (text === null) return undefined
  try {
    const value: unknown = JSON.parse(text)
    return isObject(value) ? value : undefined
  } catch {
    return undefined
  }
}

/** The chain depth a response continuing `row` gets. */
export function nextDepth(row: StoredResponseRow | undefined): number {
  if (!row) return 1
  const depth = parseObject(row.envelope)?.[DEPTH_FIELD]
  return (typeof depth === 'number' && depth >= 1 ? depth : 1) + 1
}

export interface History {
  /** Input and output items of every response of the chain, oldest first. */
  items: InputItem[]
  /** The depth of the new response (1 + the chain's length). */
  depth: number
}

/**
 * Follows previous_response_id back to the start of the conversation and
 * returns its items, oldest first. Every link must be readable by `owner`;
 * the chain is bounded in length and size.
 */
export async function loadHistory(
  find: (id: string) => Promise<StoredResponseRow | null | undefined>,
  previousId: string,
  owner: Owner,
  limits: { maxResponses?: number; maxChars?: number } = {},
): Promise<History> {
  const maxResponses = limits.maxResponses ?? MAX_CHAIN_RESPONSES
  const maxChars = limits.maxChars ?? MAX_HISTORY_CHARS
  const rows: StoredResponseRow[] = []
  const seen = new Set<string>()
  let chars = 0
  let depth = 1
  for (let id: string | null = previousId; id !== null; ) {
    const row: StoredResponseRow | null | undefined = seen.has(id) ? undefined : await find(id)
    if (!row || !mayAccess(row, owner)) throw responsesErrors.previousResponseNotFound(id, previousId)
    if (rows.length === 0) {
      // Known from the newest row alone: refused before reading the rest.
      depth = nextDepth(row)
      if (depth - 1 > maxResponses) throw responsesErrors.conversationTooLong(`it has ${depth - 1} responses; at most ${maxResponses} are continued`)
    }
    if (rows.length >= maxResponses) throw responsesErrors.conversationTooLong(`it has more than ${maxResponses} responses`)
    seen.add(id)
    rows.push(row)
    chars += row.input.length + row.output.length
    if (chars > maxChars) throw responsesErrors.conversationTooLong(`its stored items exceed ${maxChars} characters`)
    id = row.previousResponseId
  }
  const items: InputItem[] = []
  for (let i = rows.length - 1; i >= 0; i--) {
    items.push(...(parseArray(rows[i]!.input) as InputItem[]), ...(parseArray(rows[i]!.output) as InputItem[]))
  }
  return { items, depth: Math.max(depth, rows.length + 1) }
}

/** The row to store for a finished Response. */
export function storedRow(response: Response, input: InputItem[], owner: Owner, depth: number): StoredResponseRow {
  const { id, output, usage, status, created_at: createdAt, ...envelope } = response
  return {
    id,
    keyId: owner.keyId,
    tenant: owner.tenant,
    model: response.model,
    input: JSON.stringify(input),
    instructions: response.instructions,
    output: JSON.stringify(output),
    previousResponseId: response.previous_response_id,
    usage: usage ? JSON.stringify(usage) : null,
    status,
    envelope: JSON.stringify({ ...envelope, [DEPTH_FIELD]: depth }),
    createdAt: new Date(createdAt * 1000),
  }
}

/** The Response as it was answered, read back from its row. */
export function storedResponse(row: StoredResponseRow): Response {
  const envelope = parseObject(row.envelope) ?? {}
  delete envelope[DEPTH_FIELD]
  return {
    id: row.id,
    object: 'response',
    created_at: Math.floor(row.createdAt.getTime() / 1000),
    ...(envelope as Partial<Response>),
    status: row.status as Response['status'],
    model: row.model,
    instructions: row.instructions,
    previous_response_id: row.previousResponseId,
    output: parseArray(row.output) as OutputItem[],
    usage: (parseObject(row.usage) as ResponseUsage | undefined) ?? null,
  } as Response
}

export interface ItemListQuery {
  limit?: number
  order?: 'asc' | 'desc'
  after?: string
  before?: string
}

export interface ItemList {
  object: 'list'
  data: InputItem[]
  first_id: string | null
  last_id: string | null
  has_more: boolean
}

/** GET /v1/responses/{id}/input_items: the response's own input items, paged by item id as OpenAI pages them. */
export function inputItemList(row: StoredResponseRow, query: ItemListQuery = {}): ItemList {
  const limit = Math.min(100, Math.max(1, query.limit ?? 20))
  let items = parseArray(row.input) as Array<InputItem & { id?: string }>
  if (query.order !== 'asc') items = items.reverse()
  if (query.after !== undefined) {
    const at = items.findIndex((item) => item.id === query.after)
    items = at === -1 ? [] : items.slice(at + 1)
  }
  if (query.before !== undefined) {
    const at = items.findIndex((item) => item.id === query.before)
    items = at === -1 ? [] : items.slice(0, at)
  }
  const data = items.slice(0, limit)
  const id = (item: InputItem | undefined) => (item && typeof (item as { id?: unknown }).id === 'string' ? (item as { id: string }).id : null)
  return { object: 'list', data, first_id: id(data[0]), last_id: id(data[data.length - 1]), has_more: items.length > limit }
}
