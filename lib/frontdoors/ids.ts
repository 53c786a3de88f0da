// Ids for objects the gateway synthesizes on behalf of a front door: Anthropic
// message ids (msg_…), Responses ids (resp_…) and their output items (msg_…,
// fc_…, rs_…, ctc_…), legacy completion ids (cmpl-…). Clients only compare
// them for equality, so random alphanumerics of a fixed length are enough.
import { randomBytes } from 'node:crypto'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const ID_LENGTH = 24

/** Makes one id from a prefix that already carries its separator ('msg_', 'cmpl-'). */
export type IdGenerator = (prefix: string) => string

export function randomId(prefix: string, length = ID_LENGTH): string {
  const bytes = randomBytes(length)
  let out = prefix
  // 256 is not a multiple of 62; the slight bias is irrelevant for identifiers.
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length]
  return out
}

export const randomIds: IdGenerator = (prefix) => randomId(prefix)

/** Deterministic ids (prefix + counter) for golden tests. */
export function sequentialIds(): IdGenerator {
  const counters = new Map<string, number>()
  return (prefix) => {
    const n = (counters.get(prefix) ?? 0) + 1
    counters.set(prefix, n)
    return `${prefix}${String(n).padStart(3, '0')}`
  }
}
