// Embedded in your own Fastify app: the whole /v1 and /admin surface under /llm.
//   npm run build && node examples/plugin.mjs        (then Ctrl-C)
//   curl -s localhost:3000/llm/v1/chat/completions -H "authorization: Bearer $KEY" \
//     -H 'content-type: application/json' -d '{"model":"mock-gpt","messages":[{"role":"user","content":"hi"}]}'
import Fastify from 'fastify'
import { randomBytes } from 'node:crypto'
import switchyard from 'switchyard'
import { config, databaseUrl } from './config.mjs'

const masterKey = process.env.MASTER_KEY ?? `sk-sy-example-${randomBytes(18).toString('base64url')}`
// Switchyard's start (migrations, its writer thread) can take longer than Fastify's default 10 s on a busy machine.
const app = Fastify({ logger: { level: 'warn' }, pluginTimeout: 60_000 })
app.get('/', async () => ({ app: 'my application', llm: '/llm/v1' }))
await app.register(switchyard, { prefix: '/llm', config, databaseUrl, masterKey })

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
console.log(`host app on ${address}; Switchyard under ${address}/llm (docs at /llm/docs)`)
console.log(`gateway key: ${masterKey}`)
if (process.argv.includes('--once')) {
  const res = await fetch(`${address}/llm/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock-gpt', messages: [{ role: 'user', content: 'hi' }] }),
  })
  console.log('chat:', (await res.json()).choices[0].message.content, '| deployment:', res.headers.get('x-switchyard-deployment'))
  await app.close()
}
