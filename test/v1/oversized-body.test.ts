// A body over the limit: the client must be able to finish sending and read
// the 413, instead of the connection being reset under it.
import { before, test } from 'tap'
import { connect } from 'node:net'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { listenTestApp, MASTER_KEY } from '../helpers/app.js'
import { discardRequestBody, type DiscardOutcome } from '../../lib/oversized-body.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const gateway = { providers: [{ name: 'mock', type: 'mock' }], models: [{ name: 'm', deployments: [{ provider: 'mock' }] }] }

/**
 * Sends a request over a raw socket, the whole body written as fast as the
 * socket takes it; resolves with whether every write succeeded and what
 * came back.
 */
function rawPost(url: string, path: string, body: Buffer, chunked: boolean): Promise<{ writeError?: string; response: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    let response = ''
    let writeError: string | undefined
    socket.on('data', (c) => (response += c.toString('latin1')))
    socket.on('error', (err: NodeJS.ErrnoException) => (writeError = err.code ?? err.message))
    socket.on('close', () => resolve({ writeError, response }))
    const head = [
      `POST ${path} HTTP/1.1`,
      `host: ${hostname}:${port}`,
      `authorization: Bearer ${MASTER_KEY}`,
      'content-type: application/json',
      chunked ? 'transfer-encoding: chunked' : `content-length: ${body.length}`,
      '',
      '',
    ].join('\r\n')
    socket.write(head)
    const step = 256 * 1024
    for (let i = 0; i < body.length; i += step) {
      const piece = body.subarray(i, i + step)
      socket.write(chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece)
    }
    socket.end(chunked ? '0\r\n\r\n' : undefined)
  })
}

test('a 20 MB body, sized or chunked: every byte is taken, then the 413 is read; the connection closes', async (t) => {
  const { url } = await listenTestApp(t, { gateway })
  const body = Buffer.alloc(20 * 1024 * 1024, 'a')
  for (const chunked of [false, true]) {
    const { writeError, response } = await rawPost(url, '/v1/chat/completions', body, chunked)
    // Before the fix the server closed while 16+ MB were still unsent: EPIPE / ECONNRESET.
    t.equal(writeError, undefined, `${chunked ? 'chunked' : 'sized'}: the upload was not cut off`)
    t.match(response, /^HTTP\/1\.1 413 /, 'the 413 arrived')
    t.match(response, /connection: close/i, 'and says the connection closes')
    t.match(response, /"code":"request_too_large"/)
  }
  const after = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'still there?' }] }),
  })
  t.equal(after.status, 200, 'the gateway serves the next request')
})

test('discardRequestBody: ends, caps and gives up', async (t) => {
  let onRequest: (req: IncomingMessage) => Promise<DiscardOutcome> = async () => 'ended'
  const outcomes: DiscardOutcome[] = []
  const server = createServer((req, res) => {
    void onRequest(req).then((o) => {
      outcomes.push(o)
      res.writeHead(413, { connection: 'close' }).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise((r) => server.close(r)))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  onRequest = (req) => discardRequestBody(req)
  await rawPost(url, '/', Buffer.alloc(1024 * 1024), false)
  t.equal(outcomes.pop(), 'ended', 'a body under the cap is read to its end')

  onRequest = (req) => discardRequestBody(req, { maxBytes: 1024 })
  await rawPost(url, '/', Buffer.alloc(1024 * 1024), false)
  t.equal(outcomes.pop(), 'over_cap', 'an announced length over the cap is not waited for')
  await rawPost(url, '/', Buffer.alloc(1024 * 1024), true)
  t.equal(outcomes.pop(), 'over_cap', 'nor a chunked body once the cap is read')

  // A client that stops sending half-way.
  onRequest = (req) => discardRequestBody(req, { timeoutMs: 50 })
  await new Promise<void>((resolve) => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1')
    socket.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\nabc')
    socket.on('data', () => socket.destroy())
    socket.on('close', () => resolve())
  })
  t.equal(outcomes.pop(), 'timeout', 'a stalled upload is given up on')
})
