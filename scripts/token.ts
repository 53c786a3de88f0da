// npm run -s token -- --sub NAME --role admin|viewer --ttl 1h
// Prints an admin JWT signed with JWT_SECRET (read from the env or .env).
import Fastify from 'fastify'
import jwt from '@fastify/jwt'
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'

if (existsSync('.env')) process.loadEnvFile('.env')

const { values } = parseArgs({
  options: {
    sub: { type: 'string' },
    role: { type: 'string', default: 'admin' },
    ttl: { type: 'string', default: '1h' },
  },
})

const fail = (message: string): never => {
  console.error(`token: ${message}`)
  process.exit(2)
}

const secret = process.env.JWT_SECRET
if (!secret || secret.length < 32) fail('JWT_SECRET must be set (at least 32 characters)')
if (!values.sub) fail('--sub NAME is required')
if (values.role !== 'admin' && values.role !== 'viewer') fail('--role must be admin or viewer')
if (!/^\d+[smhd]$/.test(values.ttl!)) fail('--ttl must look like 30m, 1h or 7d')

const app = Fastify()
await app.register(jwt, { secret: secret!, sign: { algorithm: 'HS256' } })
await app.ready()
console.log(app.jwt.sign({ sub: values.sub!, role: values.role as 'admin' | 'viewer' }, { expiresIn: values.ttl! }))
await app.close()
