// A loopback OTLP/HTTP receiver for the bench's "tracing on" gateway: reads
// each export, answers 200 with an empty JSON object, prints its URL.
import { createServer } from 'node:http'

let bytes = 0
let exports = 0
const server = createServer((req, res) => {
  req.on('data', (c: Buffer) => (bytes += c.length))
  req.on('end', () => {
    exports++
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
  })
})
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${(server.address() as { port: number }).port}`))
process.on('SIGTERM', () => {
  console.error(`otlp-sink: ${exports} exports, ${(bytes / 1024).toFixed(0)} KiB`)
  process.exit(0)
})
