// node bench/profile/open-loop.mjs ORIGIN STREAM(0/1) RATE SECONDS: even-rate open loop, one summary line (CONNS, OLPATH, OLMETHOD env; OLEXTRA: JSON merged into the body, e.g. '{"max_tokens":64}' for /v1/messages)
import { runOpenLoop } from '../../dist/bench/open-loop.js'
const [origin, stream, rate, seconds] = process.argv.slice(2)
const r = await runOpenLoop({ origin, path: process.env.OLPATH ?? '/v1/chat/completions', method: process.env.OLMETHOD ?? 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-master-key-0123456789abcdefghijklmnop' },
  body: JSON.stringify({ model: 'bench-model', stream: stream === '1', messages: [{ role: 'user', content: 'hello' }], ...JSON.parse(process.env.OLEXTRA ?? '{}') }),
  rate: Number(rate), seconds: Number(seconds), warmupSeconds: 1.5, connections: Number(process.env.CONNS ?? 64), stream: stream === '1', timeoutMs: 10000, numericHeader: 'x-switchyard-overhead-ms' })
const f = (s) => s ? `p50 ${s.p50.toFixed(3)} p99 ${s.p99.toFixed(3)} max ${s.max.toFixed(3)}` : '-'
console.log(`ok ${r.ok} non2xx ${r.non2xx} err ${r.errors} total ${f(r.total)} ttfb ${f(r.ttfb)} lag ${f(r.sendLag)}`)
