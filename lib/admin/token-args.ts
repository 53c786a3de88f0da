// Arguments of `npm run token` (scripts/token.ts), checked without side
// effects so the rules are tested directly: a role is always chosen on
// purpose, and a token lives at most 30 days unless --allow-long-ttl says
// the operator means it.
import { parseArgs } from 'node:util'

export const MAX_TTL_SECONDS = 30 * 24 * 3600

export interface TokenRequest {
  sub: string
  role: 'admin' | 'viewer'
  /** Lifetime in seconds (the token's exp is now + this). */
  expiresInSec: number
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** "30m" -> 1800; undefined when it does not look like <digits><s|m|h|d>. */
export function ttlSeconds(ttl: string): number | undefined {
  const m = /^(\d{1,9})([smhd])$/.exec(ttl)
  if (!m) return undefined
  return Number(m[1]) * UNIT_SECONDS[m[2]!]!
}

/** The token to sign, or the message explaining why not. */
export function parseTokenArgs(args: string[], env: Record<string, string | undefined>): { ok: true; request: TokenRequest; secret: string } | { ok: false; message: string } {
  let values: { sub?: string; role?: string; ttl?: string; 'allow-long-ttl'?: boolean }
  try {
    values = parseArgs({
      args,
      options: {
        sub: { type: 'string' },
        role: { type: 'string' },
        ttl: { type: 'string', default: '1h' },
        'allow-long-ttl': { type: 'boolean', default: false },
      },
    }).values
  } catch (err) {
    return { ok: false, message: (err as Error).message }
  }
  const secret = env.JWT_SECRET
  if (!secret || secret.length < 32) return { ok: false, message: 'JWT_SECRET must be set (at least 32 characters)' }
  if (!values.sub) return { ok: false, message: '--sub NAME is required' }
  if (values.role === undefined) return { ok: false, message: '--role is required: admin (may change configuration) or viewer (read only)' }
  if (values.role !== 'admin' && values.role !== 'viewer') return { ok: false, message: '--role must be admin or viewer' }
  const seconds = ttlSeconds(values.ttl!)
  if (seconds === undefined || seconds === 0) return { ok: false, message: '--ttl must look like 30m, 1h or 7d' }
  if (seconds > MAX_TTL_SECONDS && !values['allow-long-ttl']) {
    return { ok: false, message: `--ttl ${values.ttl} is longer than 30 days; pass --allow-long-ttl if a token should really live that long` }
  }
  return { ok: true, secret, request: { sub: values.sub, role: values.role, expiresInSec: seconds } }
}
