// Gateway-key authentication for /v1 (keys cached in memory, checked by hash,
// failed checks limited per client address) and JWT verification for the
// admin API (HS256, `exp` required).
import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import { errors } from '../lib/errors.js'
import { extractKey, KeyStore, type KeyIdentity } from '../lib/keys/keys.js'
import { AuthFailureLimiter } from '../lib/keys/auth-failures.js'

export type AdminRole = 'admin' | 'viewer'

export interface AdminClaims {
  sub: string
  role: AdminRole
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AdminClaims
    user: AdminClaims
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyStore & { reload(): Promise<void> }
    authenticateKey(request: FastifyRequest): KeyIdentity
  }
  interface FastifyRequest {
    identity?: KeyIdentity
  }
}

const parseList = (s: string): string[] => {
  try {
    const v = JSON.parse(s)
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
  } catch {
    return []
  }
}

export default fp(
  async (app) => {
    const store = new KeyStore(app.config.env.MASTER_KEY) as KeyStore & { reload(): Promise<void> }
    store.reload = async () => {
      const rows = await app.db.apiKey.findMany({ where: { revokedAt: null } })
      store.replace(
        rows.map((r) => ({
          hash: r.hash,
          identity: {
            id: r.id,
            name: r.name,
            tenant: r.tenant,
            allowedModels: parseList(r.allowedModels),
            allowStrategyOverride: r.allowStrategyOverride,
            rpmLimit: r.rpmLimit,
            tpmLimit: r.tpmLimit,
            budgetDailyUsd: r.budgetDailyUsd,
            budgetMonthlyUsd: r.budgetMonthlyUsd,
            master: false,
          },
        })),
      )
    }
    await store.reload()
    const secret = app.config.env.JWT_SECRET
    if (secret) {
      // HS256 only: a token signed with anything else (including "none") is
      // refused, and so is one without an expiry: a leaked token must not be
      // valid forever. Tokens this instance signs expire after an hour unless told otherwise.
      await app.register(jwt, {
        secret,
        sign: { algorithm: 'HS256', expiresIn: '1h' },
        verify: { algorithms: ['HS256'], requiredClaims: ['exp'] },
      })
    } else {
      app.log.warn('JWT_SECRET is not set: the admin API answers 503 until it is')
    }
    app.decorate('keys', store)
    const failures = new AuthFailureLimiter({ limit: app.config.gateway.limits?.authFailuresPerMinute ?? 30 })
    app.decorate('authenticateKey', (request: FastifyRequest): KeyIdentity => {
      // A blocked address is refused before its key is even looked at.
      const blockedFor = failures.blockedFor(request.ip)
      if (blockedFor > 0) throw errors.tooManyAuthFailures(blockedFor)
      const key = extractKey(request.headers)
      if (!key) {
        failures.fail(request.ip)
        throw errors.missingKey()
      }
      const identity = store.verify(key)
      if (!identity) {
        failures.fail(request.ip)
        throw errors.invalidKey()
      }
      request.identity = identity
      return identity
    })
  },
  { name: 'auth', dependencies: ['prisma'] },
)
