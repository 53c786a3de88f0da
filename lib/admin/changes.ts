// What an admin write changes, and how instances tell each other about it.
// A kind names the in-memory state to rebuild from the database: the routing
// table, the gateway keys, the prices, the routing rules.

export const CHANGE_KINDS = ['routing', 'keys', 'pricing', 'rules'] as const
export type ChangeKind = (typeof CHANGE_KINDS)[number]

/** The notification another instance receives (Redis pub/sub or Postgres NOTIFY payload). */
export function changeMessage(from: string, kinds: readonly ChangeKind[]): string {
  return JSON.stringify({ from, kinds })
}

/** The kinds a notification announces; undefined for our own, a malformed one, or one with no known kind. */
export function parseChange(text: string, self: string): ChangeKind[] | undefined {
  try {
    const msg = JSON.parse(text) as { from?: string; kinds?: unknown }
    if (msg.from === self || !Array.isArray(msg.kinds)) return undefined
    const kinds = msg.kinds.filter((k): k is ChangeKind => (CHANGE_KINDS as readonly string[]).includes(k as string))
    return kinds.length ? kinds : undefined
  } catch {
    return undefined
  }
}
