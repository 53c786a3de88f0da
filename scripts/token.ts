// npm run -s token -- --sub NAME --role admin|viewer [--ttl 1h] [--allow-long-ttl]
// Prints an admin JWT signed with JWT_SECRET (read from the env or .env).
// --role has no default; --ttl (default 1h) is at most 30d unless
// --allow-long-ttl is given. Every token carries an expiry (exp), which the
// gateway requires.
import Fastify from 'fastify'
import jwt from '@fastify/jwt'
import { existsSync } from 'node:fs'
import { parseTokenArgs } from '../lib/admin/token-args.js'

if (existsSync('.env')) process.loadEnvFile('.env')

const parsed = parseTokenArgs(process.argv.slice(2), process.env)
if (!parsed.ok) {
  console.error(`token: ${parsed.message}`)
  process.exit(2)
}
const { request, secret } = parsed
const app = Fastify()
await app.register(jwt, { secret, sign: { algorithm: 'HS256' } })
await app.ready()
// A number is seconds for @fastify/jwt.
console.log(app.jwt.sign({ sub: request.sub, role: request.role }, { expiresIn: request.expiresInSec }))
await app.close()
