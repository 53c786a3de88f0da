// Traces of the running gateway, exported over OTLP/HTTP (JSON, as
// lib/observability/tracing.ts configures the exporter) to an in-process
// receiver on loopback: a streamed request that fails over from a failing
// deployment to a healthy one gives a server span continuing the client's
// traceparent and one client span per attempt, in the GenAI vocabulary; the
// same trace id reaches both upstreams' request headers and the access log.
import { before, test } from 'tap'
import { createServer } from 'node:http'
import { Writable } from 'node:stream'
import { buildApp } from '../../app.js'
import { tempSqliteUrl, testEnv, auth } from '../helpers/app.js'
import { warmWriterThread } from '../helpers/money.js'
import { resilienceConfig, serverError, twoMocks, until } from '../helpers/resilience.js'
import { sseData } from '../helpers/sse.js'

before(warmWriterThread)

interface Tap {
  teardown(fn: () => unknown): void
}
interface OtlpValue {
  stringValue?: string
  intValue?: number | string
  doubleValue?: number
  boolValue?: boolean
  arrayValue?: { values: OtlpValue[] }
}
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes: Array<{ key: string; value: OtlpValue }>
  events?: Array<{ name: string }>
  status?: { code?: number }
}

const plain = (v: OtlpValue): unknown =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue ?? v.arrayValue?.values.map(plain)
const attrs = (s: OtlpSpan) => Object.fromEntries(s.attributes.map((a) => [a.key, plain(a.value)]))

/** POST /v1/traces with an OTLP JSON body: every span kept, with the request's content type. */
async function otlpReceiver(t: Tap) {
  const spans: OtlpSpan[] = []
  const contentTypes: string[] = []
  const resources: Array<Record<string, unknown>> = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end()
      contentTypes.push(String(req.headers['content-type']))
      const payload = JSON.parse(body) as { resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value: OtlpValue }> }; scopeSpans?: Array<{ spans: OtlpSpan[] }> }> }
      for (const rs of payload.resourceSpans ?? []) {
        resources.push(Object.fromEntries((rs.resource?.attributes ?? []).map((a) => [a.key, plain(a.value)])))
        for (const ss of rs.scopeSpans ?? []) spans.push(...ss.spans)
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, spans, contentTypes, resources }
}

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const CLIENT_SPAN = 'b7ad6b7169203331'

test('a streamed request with a failover: spans with GenAI attributes, one trace id from the client through to the upstreams', async (t) => {
  const receiver = await otlpReceiver(t)
  const { a, b } = await twoMocks(t)
  const lines: Array<Record<string, unknown>> = []
  const logStream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l))
      done()
    },
  })
  const app = await buildApp({
    gateway: resilienceConfig(a, b, [
      {
        name: 'm',
        retries: { attempts: 0 },
        deployments: [
          { provider: 'a', model: 'up-a', pricing: { input: 3, output: 7 } },
          { provider: 'b', model: 'up-b', pricing: { input: 5, output: 11 } },
        ],
      },
    ]),
    env: testEnv(tempSqliteUrl(t), { LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'switchyard-test' }),
    logStream,
  })
  t.teardown(() => app.close())
  await app.ready()
  t.ok(app.tracing, 'tracing is on: OTEL_EXPORTER_OTLP_ENDPOINT is set in the env the gateway was built with')

  a.script(serverError)
  const res = await app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { ...auth, 'content-type': 'application/json', traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` },
    payload: { model: 'm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'a secret question, streamed' }] },
  })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-switchyard-deployment'], 'm:b:up-b', 'b answered after a failed')
  t.equal(res.headers['x-switchyard-attempts'], '2')
  const usage = sseData(res.body).filter((e): e is Record<string, unknown> => typeof e === 'object' && !!e.usage).pop()?.usage as
    | { prompt_tokens: number; completion_tokens: number }
    | undefined
  t.ok(usage, 'the stream carried usage')

  await app.tracing!.forceFlush()
  await until('three spans exported', () => receiver.spans.length >= 3)
  t.equal(receiver.spans.length, 3, 'one server span and two attempt spans')
  t.equal(receiver.contentTypes[0], 'application/json', 'OTLP/HTTP with a JSON body')
  t.equal(receiver.resources[0]?.['service.name'], 'switchyard-test')

  const server = receiver.spans.find((s) => s.kind === 2)!
  const attempts = receiver.spans.filter((s) => s.kind === 3)
  t.ok(server, 'a SERVER span')
  t.equal(server.name, 'chat m', '"{gen_ai.operation.name} {model}"')
  t.equal(server.traceId, TRACE_ID, "the client's trace")
  t.equal(server.parentSpanId, CLIENT_SPAN, "its parent is the client's span")
  t.match(attrs(server), {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'm',
    'gen_ai.request.stream': true,
    'gen_ai.provider.name': 'openai',
    'gen_ai.response.model': 'up-b',
    'gen_ai.usage.input_tokens': usage!.prompt_tokens,
    'gen_ai.usage.output_tokens': usage!.completion_tokens,
    'http.response.status_code': 200,
    'switchyard.attempts': 2,
    'switchyard.deployment.id': 'm:b:up-b',
    'switchyard.entry_point': 'chat',
  })
  t.ok(Number(attrs(server)['switchyard.cost_usd']) > 0, 'the cost')
  t.ok(Number(attrs(server)['switchyard.ttft_ms']) >= 0, 'the time to first token')
  t.notOk('error.type' in attrs(server), 'the request succeeded')

  t.equal(attempts.length, 2, 'two CLIENT spans')
  for (const s of attempts) {
    t.equal(s.traceId, TRACE_ID, 'same trace')
    t.equal(s.parentSpanId, server.spanId, 'children of the request span')
  }
  const failed = attempts.find((s) => attrs(s)['switchyard.deployment.id'] === 'm:a:up-a')!
  const answered = attempts.find((s) => attrs(s)['switchyard.deployment.id'] === 'm:b:up-b')!
  t.ok(failed && answered, 'one span per deployment tried')
  t.equal(failed.name, 'chat up-a', '"{operation} {upstream model}"')
  t.match(attrs(failed), {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'up-a',
    'server.address': '127.0.0.1',
    'server.port': Number(new URL(a.url).port),
    'http.response.status_code': 500,
    'switchyard.attempt.outcome': 'failed_over',
    'switchyard.attempt': 1,
  })
  t.ok(attrs(failed)['error.type'], 'error.type on the failed attempt')
  t.same(failed.events?.map((e) => e.name), ['switchyard.failover'], 'the failover is an event on the failed attempt')
  t.equal(failed.status?.code, 2, 'status ERROR')
  t.match(attrs(answered), {
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'up-b',
    'gen_ai.response.model': 'up-b',
    'gen_ai.request.stream': true,
    'gen_ai.usage.input_tokens': usage!.prompt_tokens,
    'gen_ai.usage.output_tokens': usage!.completion_tokens,
    'server.address': '127.0.0.1',
    'server.port': Number(new URL(b.url).port),
    'http.response.status_code': 200,
    'switchyard.attempt.outcome': 'ok',
    'switchyard.attempt': 2,
  })
  t.notOk('error.type' in attrs(answered))
  t.same(attrs(answered)['gen_ai.response.finish_reasons'], ['stop'], 'the finish reasons the streamed answer gave')
  t.notOk('gen_ai.response.finish_reasons' in attrs(failed), 'none on the attempt that failed')

  // The upstreams continued the client's trace, under the gateway's request span.
  t.equal(a.requests.length, 1)
  t.equal(b.requests.length, 1)
  for (const [name, mock] of [['a', a], ['b', b]] as const) {
    const tp = String(mock.requests[0]!.headers.traceparent)
    t.match(tp, new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`), `upstream ${name} got the client's trace id`)
    t.equal(tp.split('-')[2], server.spanId, `upstream ${name}'s parent is the gateway's request span`)
  }

  // The access log names the same trace.
  const line = lines.find((l) => l.msg === 'request' && l.entryPoint === 'chat')
  t.equal(line?.traceId, TRACE_ID, 'the access-log line carries the trace id')
  t.equal(line?.attempts, 2)

  // No message content without observability.tracing.captureContent.
  t.notMatch(JSON.stringify(receiver.spans), /secret question|echo:/, 'no prompt or answer in any span')
})

test('captureContent: the prompt is recorded only when the operator opts in', async (t) => {
  const receiver = await otlpReceiver(t)
  const { a, b } = await twoMocks(t)
  const gateway = { ...resilienceConfig(a, b, [{ name: 'm', deployments: [{ provider: 'a', model: 'up-a' }] }]), observability: { tracing: { captureContent: true } } }
  const app = await buildApp({ gateway, env: testEnv(tempSqliteUrl(t), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }), logger: false })
  t.teardown(() => app.close())
  await app.ready()
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: auth, payload: { model: 'm', messages: [{ role: 'user', content: 'an opted-in prompt' }] } })
  t.equal(res.statusCode, 200)
  await app.tracing!.forceFlush()
  await until('the server span exported', () => receiver.spans.some((s) => s.kind === 2))
  const server = receiver.spans.find((s) => s.kind === 2)!
  t.match(String(attrs(server)['gen_ai.input.messages']), /an opted-in prompt/, 'gen_ai.input.messages recorded')
})
