// Adversarial, against the real server (dist/server.js, built with
// `npx tsc -p tsconfig.json`) over real HTTP: a body over the 4 MB limit gets
// a readable 413 through Node's fetch and through the official OpenAI SDK,
// never a connection reset (on main: EPIPE now and then, and the SDK retried
// the whole upload twice). Each case checks the answer and that a normal
// request still works afterwards.
import { test } from 'tap'
import OpenAI from 'openai'
import { MASTER_KEY, tempSqliteUrl } from '../helpers/app.js'
import { startGatewayProcess } from '../helpers/process.js'

const MB = 1024 * 1024
// Several tries per case: the reset on main came and went.
const TRIES = 3

test('5 MB and 60 MB bodies get a readable 413 through fetch and the OpenAI SDK (real process)', async (t) => {
  const gw = await startGatewayProcess(t, {
    databaseUrl: tempSqliteUrl(t),
    gateway: {
      limits: { shedding: { maxEventLoopDelayMs: 0 } },
      providers: [{ name: 'mock', type: 'mock' }],
      models: [{ name: 'm', deployments: [{ provider: 'mock' }] }],
    },
  })
  const headers = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }
  const bigBody = (mb: number) => JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'a'.repeat(mb * MB) }] })
  const normal = async (what: string) => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) })
    t.equal(res.status, 200, `${what}: a normal request is served afterwards`)
    await res.text()
  }

  for (const mb of [5, 60]) {
    const body = bigBody(mb)
    await t.test(`${mb} MB through fetch, sized and streamed`, async (t) => {
      for (const streamed of [false, true]) {
        const outcomes: string[] = []
        for (let i = 0; i < TRIES; i++) {
          const bytes = Buffer.from(body)
          const init: RequestInit & { duplex?: 'half' } = streamed
            ? {
                method: 'POST', headers, duplex: 'half',
                body: new ReadableStream({
                  start(c) {
                    for (let o = 0; o < bytes.length; o += 256 * 1024) c.enqueue(bytes.subarray(o, o + 256 * 1024))
                    c.close()
                  },
                }),
              }
            : { method: 'POST', headers, body: bytes }
          try {
            const res = await fetch(`${gw.url}/v1/chat/completions`, init)
            const json = (await res.json()) as { error?: { code?: string } }
            outcomes.push(`${res.status} ${json.error?.code}`)
          } catch (err) {
            outcomes.push(`error ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`)
          }
        }
        t.same(outcomes, Array(TRIES).fill('413 request_too_large'), `${streamed ? 'streamed' : 'sized'}: a readable 413 every time`)
      }
      await normal(`${mb} MB via fetch`)
    })

    await t.test(`${mb} MB through the OpenAI SDK: one upload, a 413 APIError`, async (t) => {
      let uploads = 0
      const client = new OpenAI({
        apiKey: MASTER_KEY,
        baseURL: `${gw.url}/v1`,
        // Retries on: a connection error would be retried, and counted below.
        maxRetries: 2,
        timeout: 60_000,
        fetch: (url, init) => {
          uploads++
          return fetch(url, init)
        },
      })
      for (let i = 0; i < TRIES; i++) {
        const before = uploads
        try {
          await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'a'.repeat(mb * MB) }] })
          t.fail('a body over the limit was accepted')
        } catch (err) {
          t.ok(err instanceof OpenAI.APIError, `an API error, not a connection error: ${(err as Error).constructor.name}`)
          t.equal((err as InstanceType<typeof OpenAI.APIError>).status, 413)
          t.equal((err as InstanceType<typeof OpenAI.APIError>).code, 'request_too_large')
        }
        t.equal(uploads - before, 1, 'exactly one upload: nothing to retry')
      }
      await normal(`${mb} MB via the SDK`)
    })
  }
})
