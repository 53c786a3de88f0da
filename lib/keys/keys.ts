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

/** Keys remembered after a successful check; past this the memo starts over. */
const VERIFIED_MEMO_MAX = 10_000

export class KeyStore {
  private byHash = new Map<string, KeyIdentity>()
  private readonly masterHash: Buffer | undefined
  /**
   * Keys that passed a check, so that a client's next request skips the
   * SHA-256 (about 1 % of the gateway's CPU). Only valid keys are kept (a
   * flood of wrong keys cannot fill it, and they are limited per address
   * anyway); cleared whenever the keys change, so a revoked key is refused
   * at once.
   */
  private verified = new Map<string, KeyIdentity>()

  constructor(masterKey?: string) {
    this.masterHash = masterKey ? Buffer.from(hashKey(masterKey), 'hex') : undefined
  }

  replace(entries: Array<{ hash: string; identity: KeyIdentity }>): void {
    this.byHash = new Map(entries.map((e) => [e.hash, e.identity]))
    this.verified = new Map()
  }

  verify(key: string): KeyIdentity | undefined {
    const known = this.verified.get(key)
    if (known) return known
    const hash = hashKey(key)
    const identity = this.masterHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.masterHash) ? MASTER_IDENTITY : this.byHash.get(hash)
    if (identity) {
      if (this.verified.size >= VERIFIED_MEMO_MAX) this.verified = new Map()
      this.verified.set(key, identity)
    }
    return identity
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
