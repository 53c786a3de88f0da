// Shared by the mode tests: a config on a mock upstream, and a slow stream
// upstream that notices when its caller goes away.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export const MASTER = 'sk-test-modes-master-key-0123456789abcdef'

export function config(upstreamUrl: string) {
  return {
    providers: [{ name: 'up', type: 'openai', baseUrl: `${upstreamUrl}/v1`, apiKey: 'sk-upstream-secret' }],
    models: [
      { name: 'gpt-test', deployments: [{ provider: 'up', model: 'upstream-model-1', pricing: { input: 1, output: 2 } }] },
      { name: 'embed-test', deployments: [{ provider: 'up', model: 'upstream-embed' }] },
    ],
    routing: { strategy: 'model' },
  }
}

export interface SlowStream {
  url: string
  /** Resolves when the gateway closed the upstream connection, with the chunks sent by then. */
  closed: Promise<number>
  close(): Promise<void>
}

/** An OpenAI-compatible upstream that streams one chunk every 40 ms, 200 chunks, never a usage chunk. */
export async function slowStream(): Promise<SlowStream> {
  let resolveClosed!: (n: number) => void
  const closed = new Promise<number>((r) => (resolveClosed = r))
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      let sent = 0
      const timer = setInterval(() => {
        if (sent >= 200) {
          clearInterval(timer)
          res.end('data: [DONE]\n\n')
          return
        }
        const chunk = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'upstream-model-1', choices: [{ index: 0, delta: { content: `word${sent} ` }, finish_reason: null }] }
        res.write(`data: ${JSON.stringify(chunk)}\n\n`)
        sent++
      }, 40)
      res.on('close', () => {
        clearInterval(timer)
        if (sent < 200) resolveClosed(sent)
      })
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closed,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
