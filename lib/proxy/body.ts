// Edits to a raw JSON request body that keep every other byte as the client
// sent it, so unknown fields, key order and number formatting pass through.

/** Index just past the JSON string starting at `i` (which holds the opening quote). */
function skipString(s: string, i: number): number {
  i++
  while (i < s.length) {
    const c = s.charCodeAt(i)
    if (c === 92) i += 2 // backslash escape
    else if (c === 34) return i + 1
    else i++
  }
  return -1
}

function skipWs(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i)
    if (c === 32 || c === 9 || c === 10 || c === 13) i++
    else break
  }
  return i
}

/** Index just past the JSON value starting at `i`. */
function skipValue(s: string, i: number): number {
  const c = s[i]
  if (c === '"') return skipString(s, i)
  if (c === '{' || c === '[') {
    let depth = 0
    while (i < s.length) {
      const ch = s[i]
      if (ch === '"') {
        i = skipString(s, i)
        if (i === -1) return -1
        continue
      }
      if (ch === '{' || ch === '[') depth++
      else if (ch === '}' || ch === ']') {
        depth--
        if (depth === 0) return i + 1
      }
      i++
    }
    return -1
  }
  while (i < s.length && !',}] \t\r\n'.includes(s[i]!)) i++
  return i
}

/** [start, end) of the value of a top-level key of a JSON object text, or undefined. */
export function findTopLevelValue(s: string, key: string): [number, number] | undefined {
  let i = skipWs(s, 0)
  if (s[i] !== '{') return undefined
  i++
  for (;;) {
    i = skipWs(s, i)
    if (s[i] === '}' || i >= s.length) return undefined
    if (s[i] !== '"') return undefined
    const keyEnd = skipString(s, i)
    if (keyEnd === -1) return undefined
    const k = s.slice(i + 1, keyEnd - 1)
    i = skipWs(s, keyEnd)
    if (s[i] !== ':') return undefined
    i = skipWs(s, i + 1)
    const valueEnd = skipValue(s, i)
    if (valueEnd === -1) return undefined
    // Keys with escapes are compared decoded; plain keys need no decoding.
    if (k === key || (k.includes('\\') && JSON.parse(`"${k}"`) === key)) return [i, valueEnd]
    i = skipWs(s, valueEnd)
    if (s[i] === ',') i++
  }
}

/**
 * The first top-level key that appears twice in a JSON object text (compared
 * decoded), or undefined. One linear pass: nested values are skipped, not
 * parsed. Meant for text JSON.parse accepted. Parsers disagree on duplicates
 * (JSON.parse and most upstreams keep the last, a byte-level rewrite may edit
 * the first), so a body carrying one is refused rather than guessed at.
 */
export function duplicateTopLevelKey(s: string): string | undefined {
  let i = skipWs(s, 0)
  if (s[i] !== '{') return undefined
  i++
  const seen = new Set<string>()
  for (;;) {
    i = skipWs(s, i)
    if (s[i] !== '"') return undefined
    const keyEnd = skipString(s, i)
    if (keyEnd === -1) return undefined
    const raw = s.slice(i + 1, keyEnd - 1)
    const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw
    if (seen.has(key)) return key
    seen.add(key)
    i = skipWs(s, keyEnd)
    if (s[i] !== ':') return undefined
    i = skipValue(s, skipWs(s, i + 1))
    if (i === -1) return undefined
    i = skipWs(s, i)
    if (s[i] !== ',') return undefined
    i++
  }
}

/** Replaces the top-level "model" value; falls back to re-serializing if the text is odd. */
export function rewriteModel(raw: string, model: string, parsed: Record<string, unknown>): string {
  const span = findTopLevelValue(raw, 'model')
  if (!span) return JSON.stringify({ ...parsed, model })
  return raw.slice(0, span[0]) + JSON.stringify(model) + raw.slice(span[1])
}

/**
 * Makes a streamed request ask for usage (`stream_options.include_usage`), so
 * cost is known even when the client did not ask for it.
 */
export function ensureStreamUsage(raw: string, parsed: Record<string, unknown>): string {
  const opts = parsed.stream_options
  if (opts && typeof opts === 'object' && (opts as { include_usage?: unknown }).include_usage === true) return raw
  if (opts === undefined) {
    const open = raw.indexOf('{')
    return `${raw.slice(0, open + 1)}"stream_options":{"include_usage":true},${raw.slice(open + 1)}`
  }
  const span = findTopLevelValue(raw, 'stream_options')
  const value = JSON.stringify({ ...(opts && typeof opts === 'object' ? opts : {}), include_usage: true })
  if (!span) return JSON.stringify({ ...parsed, stream_options: JSON.parse(value) })
  return raw.slice(0, span[0]) + value + raw.slice(span[1])
}
