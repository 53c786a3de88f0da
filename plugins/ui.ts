// The dashboard at /ui: plain ES modules, HTML and CSS from ui/ (no build
// step) and uPlot from node_modules, served by the gateway itself; sign-in
// with one-time links (lib/ui/session.ts); a session cookie the admin guard
// accepts in place of a Bearer token; a CSRF token on every write made with
// that cookie (@fastify/csrf-protection, bound to the session id).
import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import fastifyStatic from '@fastify/static'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { adminErrors } from '../lib/admin/errors.js'
import { uiErrors } from '../lib/ui/errors.js'
import {
  createSession,
  endSession,
  jwtCodec,
  LayeredOnceStore,
  MemoryOnceStore,
  readSession,
  redeemLoginToken,
  RedisOnceStore,
  SESSION_COOKIE,
  type OnceStore,
  type UiSession,
  type UiUser,
} from '../lib/ui/session.js'
import { toOpenAIError } from '../routes/error-mapping.js'
import { projectRoot } from './prisma.js'
import { redisKeyPrefix } from './redis.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Set when JWT_SECRET is: the admin guard's second way in. */
    uiSession?: {
      /**
       * The user of the dashboard session cookie the request carries;
       * undefined without one. Throws 401 for an expired, ended or forged
       * session, 403 for a write without the session's CSRF token.
       */
      authenticate(request: FastifyRequest): Promise<UiUser | undefined>
    }
  }
}

export const CSRF_COOKIE = 'switchyard_csrf'
export const CSRF_HEADER = 'x-csrf-token'
const UI_DIR = join(projectRoot, 'ui')

const SignIn = Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false })
const SessionView = Type.Object({
  signedIn: Type.Literal(true),
  sub: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('viewer')]),
  expiresAt: Type.String({ format: 'date-time' }),
  csrfToken: Type.String({ description: `Send it in the ${CSRF_HEADER} header with every write` }),
})
const SignedOut = Type.Object({ signedIn: Type.Literal(false), reason: Type.Optional(Type.String()) })

// Everything the page loads comes from here; nothing inline, no other origin.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

function uplotAssets(): { dir: string; version: string } {
  const dir = dirname(createRequire(import.meta.url).resolve('uplot'))
  const { version } = JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')) as { version: string }
  return { dir, version }
}

const isWrite = (method: string) => method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS'

/**
 * Sign-in and sign-out come from the dashboard's own pages only (login CSRF).
 * The Origin's host name is compared, not its scheme or port: behind a proxy
 * that ends TLS the page is https on 443 while the gateway sees http on 8080.
 */
function assertSameOrigin(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site']
  if (site === 'cross-site' || site === 'same-site') throw uiErrors.crossOrigin()
  const origin = request.headers.origin
  if (origin === undefined) return
  let hostname: string | undefined
  try {
    hostname = new URL(origin).hostname
  } catch {
    // "null" (a sandboxed or file: page) and garbage are not the dashboard
  }
  if (hostname !== request.hostname) throw uiErrors.crossOrigin()
}

export default fp(
  async (app) => {
    if (!app.hasRequestDecorator('cookies')) await app.register(cookie)
    const secret = app.config.env.JWT_SECRET
    const uplot = uplotAssets()
    const vendor = `/ui/vendor/uplot@${uplot.version}`
    const index = readFileSync(join(UI_DIR, 'index.html'), 'utf8').replaceAll('{{uplot}}', vendor)

    let session: { codec: ReturnType<typeof jwtCodec>; used: OnceStore; ended: OnceStore } | undefined
    const sessionIds = new WeakMap<FastifyRequest, string>()
    if (secret) {
      const prefix = `${redisKeyPrefix(app.config.gateway)}ui:`
      const store = (name: string): OnceStore =>
        app.redis ? new LayeredOnceStore([new MemoryOnceStore(), new RedisOnceStore(app.redis, `${prefix}${name}:`)]) : new MemoryOnceStore()
      session = { codec: jwtCodec(app.jwt), used: store('used-link'), ended: store('ended-session') }
      await app.register(csrf, {
        sessionPlugin: '@fastify/cookie',
        cookieKey: CSRF_COOKIE,
        cookieOpts: { path: '/', sameSite: 'strict', httpOnly: true, secure: 'auto' },
        getToken: (request) => request.headers[CSRF_HEADER] as string | undefined,
        // Binds each token to its session: one from another session (or from before a new sign-in) is refused.
        getUserInfo: (request) => sessionIds.get(request) ?? '',
        csrfOpts: { userInfo: true, hmacKey: createHmac('sha256', secret).update('switchyard dashboard csrf').digest() },
      })
    }

    // @fastify/csrf-protection's hook answers a refusal itself; here it only
    // decides, so the refusal keeps the admin API's error shape.
    const csrfValid = (request: FastifyRequest, sid: string) =>
      new Promise<boolean>((resolve) => {
        sessionIds.set(request, sid)
        app.csrfProtection(request, { send: () => resolve(false) } as unknown as FastifyReply, () => resolve(true))
      })

    const current = async (request: FastifyRequest): Promise<UiSession | undefined> => {
      const token = request.cookies[SESSION_COOKIE]
      if (!token || !session) return undefined
      const r = await readSession(session.codec, session.ended, token)
      if (!r.ok) throw uiErrors.sessionRefused(r.reason)
      return r.value
    }

    if (session) {
      app.decorate('uiSession', {
        async authenticate(request: FastifyRequest): Promise<UiUser | undefined> {
          const s = await current(request)
          if (!s) return undefined
          if (isWrite(request.method) && !(await csrfValid(request, s.sid))) throw uiErrors.csrf()
          return { sub: s.sub, role: s.role }
        },
      })
    }

    await app.register(
      async (ui) => {
        ui.addHook('onSend', async (_request, reply) => {
          reply.headers(SECURITY_HEADERS)
        })
        ui.setErrorHandler((err: FastifyError, request, reply) => {
          const mapped = toOpenAIError(err, app.config.env.BODY_LIMIT_BYTES)
          if (mapped.statusCode >= 500 && mapped.code === 'internal_error') request.log.error({ err }, 'dashboard route failed')
          reply.code(mapped.statusCode).headers(mapped.headers).send(mapped.toJSON())
        })

        // Assets revalidate on every load (ETag), so an upgrade shows at once;
        // uPlot's URL carries its version, so it is cached for good.
        await ui.register(fastifyStatic, {
          root: UI_DIR,
          prefix: '/',
          index: false,
          cacheControl: false,
          allowedPath: (path) => path !== '/index.html',
          setHeaders: (reply) => reply.header('cache-control', 'no-cache'),
        })
        await ui.register(fastifyStatic, {
          root: uplot.dir,
          prefix: `/vendor/uplot@${uplot.version}/`,
          decorateReply: false,
          immutable: true,
          maxAge: '365d',
          allowedPath: (path) => path === '/uPlot.esm.js' || path === '/uPlot.min.css',
        })

        ui.get('/', { schema: { hide: true } }, async (_request, reply) =>
          reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(index))

        const sessionView = (reply: FastifyReply, s: UiSession) => ({
          signedIn: true as const,
          sub: s.sub,
          role: s.role,
          expiresAt: new Date(s.expiresAt).toISOString(),
          csrfToken: reply.generateCsrf({ userInfo: s.sid }),
        })
        const need = () => {
          if (!session) throw adminErrors.disabled()
          return session
        }
        const clearSession = (reply: FastifyReply) => reply.clearCookie(SESSION_COOKIE, { path: '/' })

        ui.get('/session', {
          schema: {
            tags: ['Dashboard'],
            summary: 'The signed-in user and the CSRF token for writes, or signedIn: false',
            response: { 200: Type.Union([SessionView, SignedOut]) },
          },
        }, async (request, reply) => {
          need()
          reply.header('cache-control', 'no-store')
          let s: UiSession | undefined
          try {
            s = await current(request)
          } catch (err) {
            // An answer, not an error: the page asks this before anyone signed in.
            clearSession(reply)
            return { signedIn: false as const, reason: (err as Error).message }
          }
          return s ? sessionView(reply, s) : { signedIn: false as const }
        })

        ui.post<{ Body: Static<typeof SignIn> }>('/session', {
          schema: {
            tags: ['Dashboard'],
            summary: 'Trade a one-time sign-in link token for a session cookie',
            body: SignIn,
            response: { 200: SessionView },
          },
        }, async (request, reply) => {
          const { codec, used } = need()
          assertSameOrigin(request)
          const r = await redeemLoginToken(codec, used, request.body.token)
          if (!r.ok) throw uiErrors.linkRefused(r.reason)
          const { token, session: s } = createSession(codec, r.value)
          reply.setCookie(SESSION_COOKIE, token, {
            path: '/',
            httpOnly: true,
            sameSite: 'strict',
            secure: request.protocol === 'https',
            expires: new Date(s.expiresAt),
          })
          request.log.info({ sub: s.sub, role: s.role }, 'dashboard sign-in')
          reply.header('cache-control', 'no-store')
          return sessionView(reply, s)
        })

        ui.delete('/session', {
          schema: { tags: ['Dashboard'], summary: 'Sign out: the session cookie is cleared and its session refused from now on', response: { 204: Type.Null() } },
        }, async (request, reply) => {
          const { ended } = need()
          assertSameOrigin(request)
          let s: UiSession | undefined
          try {
            s = await current(request)
          } catch {
            // Already over: only the cookie is left to clear.
          }
          if (s) {
            if (!(await csrfValid(request, s.sid))) throw uiErrors.csrf()
            await endSession(ended, s)
          }
          clearSession(reply)
          return reply.code(204).send()
        })
      },
      { prefix: '/ui' },
    )
  },
  { name: 'ui', dependencies: ['config', 'auth', 'redis'] },
)
