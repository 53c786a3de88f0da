// npm run -s token -- --sub NAME --role admin|viewer [--ttl 1h] [--allow-long-ttl]
// Prints an admin JWT signed with JWT_SECRET (read from the env or .env).
// --role has no default; --ttl (default 1h) is at most 30d unless
// --allow-long-ttl is given. Every token carries an expiry (exp), which the
// gateway requires.
// With --ui [--base-url URL] it prints a one-time dashboard sign-in link
// instead (default lifetime 10m, at most 1h; base http://127.0.0.1:${PORT:-8080}).
import Fastify from 'fastify'
import jwt from '@fastify/jwt'
import { existsSync } from 'node:fs'
import { parseTokenArgs } from '../lib/admin/token-args.js'
import { signInLinkFor, uiLinkOptions } from '../lib/ui/link-args.js'
import { jwtCodec } from '../lib/ui/session.js'

if (existsSync('.env')) process.loadEnvFile('.env')

const ui = uiLinkOptions(process.argv.slice(2), process.env)
const parsed = ui.ok ? parseTokenArgs(ui.value.rest, process.env) : ui
if (!parsed.ok) {
  console.error(`token: ${parsed.message}`)
  process.exit(2)
}
const { request, secret } = parsed
const app = Fastify()
await app.register(jwt, { secret, sign: { algorithm: 'HS256' } })
await app.ready()
const link = ui.ok ? ui.value.link : undefined
try {
  // A number is seconds for @fastify/jwt.
  console.log(link ? signInLinkFor(jwtCodec(app.jwt), request, link.baseUrl) : app.jwt.sign({ sub: request.sub, role: request.role }, { expiresIn: request.expiresInSec }))
} catch (err) {
  console.error(`token: ${(err as Error).message}`)
  process.exitCode = 2
}
await app.close()
