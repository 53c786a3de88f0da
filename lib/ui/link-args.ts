// `npm run token -- --sub NAME --role viewer|admin --ui [--base-url URL] [--ttl 10m]`
// prints a one-time dashboard sign-in link instead of a Bearer token. These
// are the --ui arguments, taken off before the token arguments are parsed
// (lib/admin/token-args.ts), and the link itself; pure, tested directly.
import { createLoginToken, DEFAULT_LINK_TTL_SEC, MAX_LINK_TTL_SEC, signInLink, type JwtCodec } from './session.js'

export interface UiLinkOptions {
  /** Set with --ui: where the gateway is reached from the browser. */
  link?: { baseUrl: string }
  /** The other arguments, for the token parser (--ttl 10m added for a link when none is given). */
  rest: string[]
}

/** The gateway's address on this host: http://127.0.0.1:${PORT:-8080}. */
export const defaultBaseUrl = (env: Record<string, string | undefined>) => `http://127.0.0.1:${env.PORT || 8080}`

export function uiLinkOptions(args: string[], env: Record<string, string | undefined>): { ok: true; value: UiLinkOptions } | { ok: false; message: string } {
  const rest: string[] = []
  let ui = false
  let baseUrl: string | undefined
  let ttlGiven = false
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '--ui') ui = true
    else if (a === '--base-url' || a.startsWith('--base-url=')) {
      baseUrl = a === '--base-url' ? args[++i] : a.slice('--base-url='.length)
      if (!baseUrl) return { ok: false, message: '--base-url needs a URL, e.g. --base-url https://gateway.example.com' }
    } else {
      if (a === '--ttl' || a.startsWith('--ttl=')) ttlGiven = true
      rest.push(a)
    }
  }
  if (!ui) return baseUrl ? { ok: false, message: '--base-url goes with --ui (a sign-in link)' } : { ok: true, value: { rest } }
  const base = baseUrl ?? defaultBaseUrl(env)
  try {
    signInLink(base, 'x')
  } catch (err) {
    return { ok: false, message: `--base-url: ${(err as Error).message}` }
  }
  if (!ttlGiven) rest.push('--ttl', `${DEFAULT_LINK_TTL_SEC / 60}m`)
  return { ok: true, value: { link: { baseUrl: base }, rest } }
}

/** The link to print: a one-time sign-in token in its fragment. Throws RangeError for a lifetime over an hour. */
export function signInLinkFor(codec: JwtCodec, request: { sub: string; role: 'admin' | 'viewer'; expiresInSec: number }, baseUrl: string): string {
  if (request.expiresInSec > MAX_LINK_TTL_SEC) throw new RangeError(`--ttl: a sign-in link lives at most ${MAX_LINK_TTL_SEC / 60} minutes`)
  return signInLink(baseUrl, createLoginToken(codec, { sub: request.sub, role: request.role, ttlSec: request.expiresInSec }))
}
