// Per-key request and token rates: which limit applies, the headers OpenAI
// clients read (x-ratelimit-{limit,remaining,reset}-{requests,tokens}), and
// the token pre-check.

export interface RateIdentity {
  id: string | null
  rpmLimit?: number | null
  tpmLimit?: number | null
}

export interface RateDefaults {
  rpm?: number
  tpm?: number
}

/** The bucket of a key; the master key (id null) has its own. */
export const rateBucket = (identity: RateIdentity): string => (identity.id ? `key:${identity.id}` : 'master')

const positive = (v: number | null | undefined): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined)

/** The key's own limit, else the gateway default; undefined = unlimited. */
export function rpmLimitOf(identity: RateIdentity, defaults: RateDefaults): number | undefined {
  return positive(identity.rpmLimit) ?? positive(defaults.rpm)
}

export function tpmLimitOf(identity: RateIdentity, defaults: RateDefaults): number | undefined {
  return positive(identity.tpmLimit) ?? positive(defaults.tpm)
}

/** OpenAI-style duration for x-ratelimit-reset-*: "1s", "45s", "1m0s". */
export function formatReset(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds))
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`
}

export function rateHeaders(kind: 'requests' | 'tokens', limit: number, remaining: number, resetSec: number): Record<string, string> {
  return {
    [`x-ratelimit-limit-${kind}`]: String(limit),
    [`x-ratelimit-remaining-${kind}`]: String(Math.max(0, Math.floor(remaining))),
    [`x-ratelimit-reset-${kind}`]: formatReset(resetSec),
  }
}

export interface TokenCheck {
  ok: boolean
  limit: number
  used: number
  estimate: number
  remaining: number
}

/** Refuses when the tokens used this minute plus the request's estimate exceed the limit. */
export function checkTokens(limit: number, used: number, estimate: number): TokenCheck {
  return { ok: used + estimate <= limit, limit, used, estimate, remaining: Math.max(0, limit - used) }
}

export function tokenLimitMessage(c: TokenCheck): string {
  return `Rate limit reached for tokens per minute (TPM): limit ${c.limit}, used ${c.used}, requested ${c.estimate}. Retry after the current minute.`
}

export function requestLimitMessage(limit: number): string {
  return `Rate limit reached for requests per minute (RPM): limit ${limit}. Retry after the current window.`
}
