// Gateway API keys. Only a SHA-256 of each key is stored; the key itself is
// shown once at creation. Verification is a hash and a Map lookup: no
// database access per request.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export const KEY_PREFIX = 'sk-sy-'

export interface KeyIdentity {
  /** null for the master key. */
  id: string | null
  name: string
  tenant?: string | null
  allowedModels: string[]
  allowStrategyOverride: boolean
  rpmLimit?: number | null
  tpmLimit?: number | null
  budgetDailyUsd?: number | null
  budgetMonthlyUsd?: number | null
  master: boolean
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

export function generateKey(): string {
  return KEY_PREFIX + randomBytes(24).toString('base64url')
}

/** The first characters of a key, safe to display to identify it. */
export function keyPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX.length + 4)
}

/** Reads the bearer token from Authorization or x-api-key. */
export function extractKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization
  if (typeof auth === 'string' && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') return auth.slice(7).trim() || undefined
  const apiKey = headers['x-api-key']
  if (typeof apiKey === 'string' && apiKey.length > 0) return apiKey.trim()
  return undefined
}

export const MASTER_IDENTITY: KeyIdentity = {
  id: null,
  name: 'master',
  allowedModels: [],
  allowStrategyOverride: true,
  master: true,
}

export class KeyStore {
  private byHash = new Map<string, KeyIdentity>()
  private readonly masterHash: Buffer | undefined

  constructor(masterKey?: string) {
    this.masterHash = masterKey ? Buffer.from(hashKey(masterKey), 'hex') : undefined
  }

  replace(entries: Array<{ hash: string; identity: KeyIdentity }>): void {
    this.byHash = new Map(entries.map((e) => [e.hash, e.identity]))
  }

  verify(key: string): KeyIdentity | undefined {
    const hash = hashKey(key)
    if (this.masterHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.masterHash)) return MASTER_IDENTITY
    return this.byHash.get(hash)
  }

  get size(): number {
    return this.byHash.size
  }
}

/** Whether a key may use a model: empty allow-list means every model; globs allowed. */
export function modelAllowed(identity: KeyIdentity, model: string, match: (pattern: string, value: string) => boolean): boolean {
  if (identity.master || identity.allowedModels.length === 0) return true
  return identity.allowedModels.some((p) => match(p, model))
}
