// The control plane's guard: a valid HS256 JWT with an expiry on every /admin route; the
// viewer role may read (GET, and POSTs marked config.readOnly such as dry
// runs), only admin may write.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { adminErrors } from '../../lib/admin/errors.js'
import { toOpenAIError } from '../error-mapping.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A POST that changes nothing (dry runs): viewers may call it. */
    readOnly?: boolean
  }
}

export function registerAdminHooks(app: FastifyInstance): void {
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (!app.config.env.JWT_SECRET) throw adminErrors.disabled()
    // The dashboard's session cookie (plugins/ui.ts) stands in for a Bearer token; a Bearer token wins.
    const session = request.headers.authorization ? undefined : await app.uiSession?.authenticate(request)
    try {
      if (session) request.user = session
      else await request.jwtVerify()
    } catch (err) {
      const code = (err as { code?: string }).code ?? ''
      const detail = code.includes('EXPIRED')
        ? 'the token has expired'
        : code.includes('NO_AUTHORIZATION')
          ? 'no Authorization header'
          : code.includes('MISSING_REQUIRED_CLAIM') || /claim is required/i.test((err as Error).message ?? '')
            ? 'the token has no expiry (exp claim); sign it with a lifetime'
            : 'the token is invalid'
      throw adminErrors.unauthorized(detail)
    }
    // A sign-in link's or a session cookie's token carries a purpose: it is no Bearer token.
    if (!session && (request.user as { purpose?: unknown }).purpose !== undefined) throw adminErrors.unauthorized('a dashboard token is not an admin Bearer token')
    const role = request.user?.role
    if (role !== 'admin' && role !== 'viewer') throw adminErrors.unauthorized('the token has no admin or viewer role')
    const readOnly = request.method === 'GET' || request.method === 'HEAD' || request.routeOptions.config.readOnly === true
    if (!readOnly && role !== 'admin') throw adminErrors.forbidden()
  })
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = toOpenAIError(err, app.config.env.BODY_LIMIT_BYTES)
    if (mapped.statusCode >= 500 && mapped.code === 'internal_error') request.log.error({ err }, 'admin route failed')
    reply.code(mapped.statusCode).headers(mapped.headers).send(mapped.toJSON())
  })
}

export const adminSecurity: Array<Record<string, string[]>> = [{ bearerAuth: [] }]

/** Who is writing, for the audit log: the token's (or session's) subject. */
export const actorOf = (request: FastifyRequest): string => request.user?.sub ?? 'unknown'
