// Sign-in for the dashboard with nothing stored but used ids: an operator
// prints a one-time link (`npm run token -- --ui`), the page trades the link's
// token for a session cookie, and signing out ends the session for good.
//
// Both tokens are HS256 JWTs signed with JWT_SECRET, told apart from admin
// Bearer tokens (and from each other) by their `purpose` claim; the admin
// guard refuses a token with a purpose as a Bearer token. A link token is
// accepted once: its jti is remembered until it expires. A session's id is
// remembered the same way when it is ended, so a copied cookie stops working
// at sign-out. No Fastify here; the plugin passes in the JWT signer.
import { randomUUID } from 'node:crypto'

export const LOGIN_PURPOSE = 'ui-login'
export const SESSION_PURPOSE = 'ui-session'
export const DEFAULT_LINK_TTL_SEC = 10 * 60
/** A sign-in link is for clicking now, not for keeping. */
export const MAX_LINK_TTL_SEC = 60 * 60
export const DEFAULT_SESSION_TTL_SEC = 12 * 3600
export const SESSION_COOKIE = 'switchyard_session'
/** Where the link's token travels: the URL fragment never reaches the server's logs or a Referer header. */
export const LOGIN_FRAGMENT = 'login'

export type UiRole = 'admin' | 'viewer'

export interface UiUser {
  sub: string
  role: UiRole
}

export interface UiSession extends UiUser {
  /** The session id (the session token's jti). */
  sid: string
  /** Epoch ms. */
  expiresAt: number
}

/** The JWT signer and verifier (HS256, JWT_SECRET): @fastify/jwt in the gateway and the token script. */
export interface JwtCodec {
  /** Signs the payload; it expires `expiresInSec` after the payload's `iat`. */
  sign(payload: Record<string, unknown>, expiresInSec: number): string
  /** The payload when the signature is good and the token has not expired; throws otherwise. */
  verify(token: string): Record<string, unknown>
}

/** Ids remembered until a moment: used link tokens, ended sessions. */
/** The codec over @fastify/jwt's signer (app.jwt), as the gateway and the token script register it. */
export function jwtCodec(jwt: { sign(payload: object, options: { expiresIn: number }): string; verify(token: string): unknown }): JwtCodec {
  return {
    sign: (payload, expiresInSec) => jwt.sign(payload, { expiresIn: expiresInSec }),
    verify: (token) => jwt.verify(token) as Record<string, unknown>,
  }
}

export interface OnceStore {
  /** Remembers `id` until `expiresAt` (epoch ms); false when it was already remembered. */
  add(id: string, expiresAt: number): Promise<boolean>
  has(id: string): Promise<boolean>
}

export type Refusal = 'invalid' | 'expired' | 'used' | 'ended'
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: Refusal }

const isRole = (v: unknown): v is UiRole => v === 'admin' || v === 'viewer'

/** "30s", "10m", "1h", "7d" in seconds; undefined when it does not look like one. */
export function parseDurationSec(text: string): number | undefined {
  const m = /^(\d+)([smhd])$/.exec(text)
  if (!m) return undefined
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd']
}

export interface LoginTokenOptions extends UiUser {
  ttlSec?: number
  /** Epoch ms the token is issued at (tests issue tokens in the past). */
  now?: number
  jti?: string
}

/** A sign-in token: purpose ui-login, a fresh jti, at most MAX_LINK_TTL_SEC. */
export function createLoginToken(codec: JwtCodec, opts: LoginTokenOptions): string {
  const ttl = opts.ttlSec ?? DEFAULT_LINK_TTL_SEC
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LINK_TTL_SEC) {
    throw new RangeError(`a sign-in link lives between 1 s and ${MAX_LINK_TTL_SEC / 60} minutes, got ${ttl} s`)
  }
  if (!opts.sub) throw new RangeError('sub is required')
  if (!isRole(opts.role)) throw new RangeError('role must be admin or viewer')
  const iat = Math.floor((opts.now ?? Date.now()) / 1000)
  return codec.sign({ sub: opts.sub, role: opts.role, purpose: LOGIN_PURPOSE, jti: opts.jti ?? randomUUID(), iat }, ttl)
}

/** The full sign-in URL; the token goes in the fragment. */
export function signInLink(baseUrl: string, token: string): string {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    throw new RangeError(`base URL "${baseUrl}" is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError('the base URL must start with http:// or https://')
  if (url.search || url.hash || url.username || url.password) throw new RangeError('the base URL must not have a query, fragment or user info')
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}/ui/#${LOGIN_FRAGMENT}=${token}`
}

function decode(codec: JwtCodec, token: string, purpose: string): Checked<Record<string, unknown>> {
  let claims: Record<string, unknown>
  try {
    claims = codec.verify(token)
  } catch (err) {
    return { ok: false, reason: String((err as { code?: unknown }).code ?? '').includes('EXPIRED') ? 'expired' : 'invalid' }
  }
  const { sub, role, jti, exp } = claims
  if (claims.purpose !== purpose || typeof sub !== 'string' || !sub || !isRole(role) || typeof jti !== 'string' || !jti || typeof exp !== 'number') {
    return { ok: false, reason: 'invalid' }
  }
  return { ok: true, value: claims }
}

/** Checks a sign-in token and uses it up: a second use is refused. */
export async function redeemLoginToken(codec: JwtCodec, used: OnceStore, token: string, now = Date.now()): Promise<Checked<UiUser>> {
  const r = decode(codec, token, LOGIN_PURPOSE)
  if (!r.ok) return r
  const { sub, role, jti, exp } = r.value as { sub: string; role: UiRole; jti: string; exp: number }
  if (exp * 1000 <= now) return { ok: false, reason: 'expired' }
  if (!(await used.add(jti, exp * 1000))) return { ok: false, reason: 'used' }
  return { ok: true, value: { sub, role } }
}

export function createSession(codec: JwtCodec, user: UiUser, opts: { ttlSec?: number; now?: number } = {}): { token: string; session: UiSession } {
  const ttl = opts.ttlSec ?? DEFAULT_SESSION_TTL_SEC
  const iat = Math.floor((opts.now ?? Date.now()) / 1000)
  const sid = randomUUID()
  const token = codec.sign({ sub: user.sub, role: user.role, purpose: SESSION_PURPOSE, jti: sid, iat }, ttl)
  return { token, session: { sub: user.sub, role: user.role, sid, expiresAt: (iat + ttl) * 1000 } }
}

/** The session a cookie carries, unless it is forged, expired or ended. */
export async function readSession(codec: JwtCodec, ended: OnceStore, token: string, now = Date.now()): Promise<Checked<UiSession>> {
  const r = decode(codec, token, SESSION_PURPOSE)
  if (!r.ok) return r
  const { sub, role, jti, exp } = r.value as { sub: string; role: UiRole; jti: string; exp: number }
  if (exp * 1000 <= now) return { ok: false, reason: 'expired' }
  if (await ended.has(jti)) return { ok: false, reason: 'ended' }
  return { ok: true, value: { sub, role, sid: jti, expiresAt: exp * 1000 } }
}

export async function endSession(ended: OnceStore, session: UiSession): Promise<void> {
  await ended.add(session.sid, session.expiresAt)
}

/** This process's memory: enough for one instance. */
export class MemoryOnceStore implements OnceStore {
  private readonly ids = new Map<string, number>()

  constructor(private readonly now: () => number = Date.now) {}

  async add(id: string, expiresAt: number): Promise<boolean> {
    this.prune()
    if (this.ids.has(id)) return false
    this.ids.set(id, expiresAt)
    return true
  }

  async has(id: string): Promise<boolean> {
    const until = this.ids.get(id)
    return until !== undefined && until > this.now()
  }

  get size(): number {
    return this.ids.size
  }

  // Only valid tokens are ever added, and each for at most its lifetime, so a
  // sweep at each add keeps the map at the ids still alive.
  private prune(): void {
    const now = this.now()
    for (const [id, until] of this.ids) if (until <= now) this.ids.delete(id)
  }
}

/** The part of ioredis this needs. */
export interface RedisLike {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<'OK' | null>
  exists(key: string): Promise<number>
}

/** Shared by every instance: SET NX decides which one saw an id first. */
export class RedisOnceStore implements OnceStore {
  constructor(
    private readonly redis: RedisLike,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  async add(id: string, expiresAt: number): Promise<boolean> {
    const ms = Math.max(1, Math.ceil(expiresAt - this.now()))
    return (await this.redis.set(this.prefix + id, '1', 'PX', ms, 'NX')) === 'OK'
  }

  async has(id: string): Promise<boolean> {
    return (await this.redis.exists(this.prefix + id)) > 0
  }
}

/** Memory first (no round trip for what this instance saw), then the shared store. */
export class LayeredOnceStore implements OnceStore {
  constructor(private readonly layers: OnceStore[]) {}

  async add(id: string, expiresAt: number): Promise<boolean> {
    let fresh = true
    // Every layer records the id, even when an earlier one had it.
    for (const layer of this.layers) if (!(await layer.add(id, expiresAt))) fresh = false
    return fresh
  }

  async has(id: string): Promise<boolean> {
    for (const layer of this.layers) if (await layer.has(id)) return true
    return false
  }
}
