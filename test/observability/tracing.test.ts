// Traces over OTLP/HTTP to an in-process receiver: a streamed request that
// fails over from one deployment to another gives one server span and two
// attempt spans under it, in the GenAI vocabulary, in the trace the client's
// traceparent named; the same trace id reaches the upstream's request headers.
import { test } from 'tap'
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http'
import { createTracing, samplerFromEnv, tracesEndpoint } from '../../lib/observability/tracing.js'
import { operationOf, serverOf } from '../../lib/observability/semconv.js'

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

async function listen(t: Tap, server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return (server.address() as { port: number }).port
}

/** An OTLP/HTTP receiver: POST /v1/traces with a JSON body; keeps every span and the resource. */
async function otlpReceiver(t: Tap) {
  const spans: OtlpSpan[] = []
  const resources: Array<Record<string, unknown>> = []
  const contentTypes: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end()
        return
      }
      contentTypes.push(String(req.headers['content-type']))
      const payload = JSON.parse(body)
      for (const rs of payload.resourceSpans ?? []) {
        resources.push(Object.fromEntries((rs.resource?.attributes ?? []).map((a: { key: string; value: OtlpValue }) => [a.key, plain(a.value)])))
        for (const ss of rs.scopeSpans ?? []) spans.push(...ss.spans)
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  const port = await listen(t, server)
  return { url: `http://127.0.0.1:${port}`, spans, resources, contentTypes }
}

/** A stand-in upstream that records the headers of each request. */
async function upstream(t: Tap, status: number) {
  const seen: IncomingHttpHeaders[] = []
  const server = createServer((req, res) => {
    seen.push(req.headers)
    req.resume()
    res.writeHead(status, { 'content-type': 'text/event-stream' }).end('data: [DONE]\n\n')
  })
  const port = await listen(t, server)
  return { url: `http://127.0.0.1:${port}/v1/chat/completions`, seen }
}

const call = (url: string, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end('{}')
  })

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CLIENT_SPAN = '00f067aa0ba902b7'

test('off unless an OTLP endpoint is set', async (t) => {
  t.equal(createTracing({}), undefined, 'no endpoint: nothing created')
  t.equal(createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }), undefined, 'OTEL_SDK_DISABLED')
  t.equal(createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' }), undefined, 'OTEL_TRACES_EXPORTER=none')
  t.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }), 'http://collector:4318/v1/traces', 'signal path appended')
  t.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/custom' }), 'http://c/custom', 'the traces endpoint is used as is')
  const warnings: string[] = []
  const tracing = createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, { onWarning: (m) => warnings.push(m) })
  t.teardown(() => tracing?.shutdown())
  t.ok(tracing)
  t.match(warnings[0], /"grpc" is not supported.*OTLP\/HTTP JSON/, 'an unsupported protocol is named in a warning')
  t.equal(samplerFromEnv({}).toString(), samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }).toString())
  t.match(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).toString(), /0\.25/)
})

test('a streamed request with a failover: spans, GenAI attributes, one trace id from client to upstream', async (t) => {
  const receiver = await otlpReceiver(t)
  const failing = await upstream(t, 503)
  const healthy = await upstream(t, 200)
  const tracing = createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'gw-test' }, { serviceVersion: '9.9.9' })!
  t.teardown(() => tracing.shutdown())

  const root = tracing.startRequestSpan({
    operation: operationOf('chat')!,
    model: 'gpt-4o',
    headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`, 'content-type': 'application/json' },
    entryPoint: 'chat',
    requestId: 'req-1',
    stream: true,
    input: [{ role: 'user', content: 'secret prompt' }],
  })
  t.equal(tracing.traceIdOf(root), TRACE_ID, 'the request joins the client trace')

  // Attempt 1: the first deployment answers 503; the pipeline fails over.
  const a1 = serverOf(failing.url)!
  const s1 = tracing.startAttemptSpan(root, {
    operation: 'chat',
    upstreamModel: 'gpt-4o-2024-08-06',
    providerType: 'openai',
    provider: 'openai-us',
    deploymentId: 'gpt-4o@openai-us',
    serverAddress: a1.address,
    serverPort: a1.port,
    attempt: 1,
    retry: 0,
    model: 'gpt-4o',
    stream: true,
  })
  const st1 = await call(failing.url, tracing.injectHeaders(s1, { 'content-type': 'application/json' }))
  tracing.endAttemptSpan(s1, { outcome: 'failed_over', status: st1, errorType: 'http_503' })

  // Attempt 2: another deployment streams the answer.
  const a2 = serverOf(healthy.url)!
  const s2 = tracing.startAttemptSpan(root, {
    operation: 'chat',
    upstreamModel: 'gpt-4o',
    providerType: 'azure',
    provider: 'azure-eu',
    deploymentId: 'gpt-4o@azure-eu',
    serverAddress: a2.address,
    serverPort: a2.port,
    attempt: 2,
    retry: 0,
    model: 'gpt-4o',
    stream: true,
  })
  const st2 = await call(healthy.url, tracing.injectHeaders(s2, { 'content-type': 'application/json' }))
  tracing.endAttemptSpan(s2, {
    outcome: 'ok',
    status: st2,
    responseModel: 'gpt-4o-2024-11-20',
    responseId: 'chatcmpl-1',
    usage: { inputTokens: 12, outputTokens: 34, cacheReadTokens: 8, cacheWriteTokens: 2 },
    finishReasons: ['stop'],
    ttftMs: 120,
  })
  tracing.endRequestSpan(root, {
    status: 200,
    deploymentId: 'gpt-4o@azure-eu',
    providerType: 'azure',
    responseModel: 'gpt-4o-2024-11-20',
    usage: { inputTokens: 12, outputTokens: 34 },
    attempts: 2,
    finishReasons: ['stop'],
    costUsd: 0.0004,
    output: 'secret answer',
  })
  await tracing.forceFlush()

  // The upstreams saw the trace.
  for (const [name, u] of [['failing', failing], ['healthy', healthy]] as const) {
    const tp = String(u.seen[0]?.traceparent)
    t.match(tp, new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`), `${name} upstream got a traceparent in the client's trace`)
  }
  t.equal(receiver.contentTypes[0], 'application/json', 'OTLP/HTTP JSON')
  t.equal(receiver.resources[0]?.['service.name'], 'gw-test')
  t.equal(receiver.resources[0]?.['service.version'], '9.9.9')

  t.equal(receiver.spans.length, 3, 'one request span and two attempt spans')
  const server = receiver.spans.find((s) => s.kind === 2)!
  const attempts = receiver.spans.filter((s) => s.kind === 3)
  t.ok(server, 'a SERVER span')
  t.equal(server.name, 'chat gpt-4o', 'named "{operation} {model}"')
  t.equal(server.traceId, TRACE_ID)
  t.equal(server.parentSpanId, CLIENT_SPAN, "its parent is the client's span")
  t.match(attrs(server), {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.provider.name': 'azure.ai.openai',
    'gen_ai.response.model': 'gpt-4o-2024-11-20',
    'gen_ai.usage.input_tokens': 12,
    'gen_ai.usage.output_tokens': 34,
    'gen_ai.response.finish_reasons': ['stop'],
    'switchyard.attempts': 2,
    'http.response.status_code': 200,
  })
  t.notOk('gen_ai.input.messages' in attrs(server), 'no message content without captureContent')
  t.notOk('gen_ai.output.messages' in attrs(server))
  t.notMatch(JSON.stringify(receiver.spans), /secret (prompt|answer)/, 'content appears nowhere')

  t.equal(attempts.length, 2, 'two CLIENT spans')
  const [first, second] = [...attempts].sort((a, b) => Number(attrs(a)['switchyard.attempt']) - Number(attrs(b)['switchyard.attempt']))
  for (const s of [first!, second!]) {
    t.equal(s.traceId, TRACE_ID, 'same trace')
    t.equal(s.parentSpanId, server.spanId, 'child of the request span')
  }
  // Each upstream saw its own attempt span as the parent.
  t.equal(String(failing.seen[0]?.traceparent).split('-')[2], first!.spanId)
  t.equal(String(healthy.seen[0]?.traceparent).split('-')[2], second!.spanId)

  t.equal(first!.name, 'chat gpt-4o-2024-08-06')
  t.match(attrs(first!), {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-2024-08-06',
    'server.address': '127.0.0.1',
    'server.port': a1.port,
    'error.type': 'http_503',
    'switchyard.attempt.outcome': 'failed_over',
    'switchyard.deployment.id': 'gpt-4o@openai-us',
    'http.response.status_code': 503,
  })
  t.same(first!.events?.map((e) => e.name), ['switchyard.failover'], 'the failover is an event on the failed attempt')
  t.equal(first!.status?.code, 2, 'status ERROR')

  t.match(attrs(second!), {
    'gen_ai.provider.name': 'azure.ai.openai',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.response.model': 'gpt-4o-2024-11-20',
    'gen_ai.response.id': 'chatcmpl-1',
    'gen_ai.usage.input_tokens': 12,
    'gen_ai.usage.output_tokens': 34,
    'gen_ai.usage.cache_read.input_tokens': 8,
    'gen_ai.usage.cache_creation.input_tokens': 2,
    'gen_ai.response.finish_reasons': ['stop'],
    'server.address': '127.0.0.1',
    'server.port': a2.port,
    'switchyard.attempt.outcome': 'ok',
  })
  t.notOk('error.type' in attrs(second!), 'no error on the attempt that answered')
})

test('a fallback and a retry are attributes of the attempts', async (t) => {
  const receiver = await otlpReceiver(t)
  const tracing = createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url })!
  t.teardown(() => tracing.shutdown())
  const root = tracing.startRequestSpan({ operation: 'chat', model: 'big' })
  const retry = tracing.startAttemptSpan(root, { operation: 'chat', upstreamModel: 'big-1', providerType: 'anthropic', deploymentId: 'big@a', retry: 1, attempt: 2 })
  tracing.endAttemptSpan(retry, { outcome: 'retried', status: 529 })
  const fb = tracing.startAttemptSpan(root, { operation: 'chat', upstreamModel: 'small-1', providerType: 'gemini', deploymentId: 'small@g', fallbackFrom: 'big', model: 'small', attempt: 3 })
  tracing.endAttemptSpan(fb, { outcome: 'ok', status: 200 })
  tracing.endRequestSpan(root, { status: 200, fallbackTo: 'small', attempts: 3 })
  await tracing.forceFlush()
  const byDeployment = (id: string) => receiver.spans.find((s) => attrs(s)['switchyard.deployment.id'] === id)!
  t.match(attrs(byDeployment('big@a')), { 'switchyard.retry': 1, 'error.type': '529', 'gen_ai.provider.name': 'anthropic' })
  t.same(byDeployment('big@a').events?.map((e) => e.name), ['switchyard.retry'])
  t.match(attrs(byDeployment('small@g')), { 'switchyard.fallback.from': 'big', 'switchyard.model': 'small', 'gen_ai.provider.name': 'gcp.gemini' })
  const server = receiver.spans.find((s) => s.kind === 2)!
  t.equal(attrs(server)['switchyard.fallback.to'], 'small')
  t.notOk(server.parentSpanId, 'no client traceparent: a new trace')
})

test('message content only when the operator opts in', async (t) => {
  const receiver = await otlpReceiver(t)
  const tracing = createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, { captureContent: true })!
  t.teardown(() => tracing.shutdown())
  const span = tracing.startRequestSpan({ operation: 'chat', model: 'm', input: [{ role: 'user', content: 'hello' }] })
  tracing.endRequestSpan(span, { status: 200, output: [{ role: 'assistant', content: 'hi' }] })
  await tracing.forceFlush()
  const a = attrs(receiver.spans[0]!)
  t.same(JSON.parse(String(a['gen_ai.input.messages'])), [{ role: 'user', content: 'hello' }])
  t.same(JSON.parse(String(a['gen_ai.output.messages'])), [{ role: 'assistant', content: 'hi' }])
})

test('an unsampled client trace is still propagated, and nothing is exported', async (t) => {
  const receiver = await otlpReceiver(t)
  const tracing = createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url })!
  t.teardown(() => tracing.shutdown())
  const root = tracing.startRequestSpan({ operation: 'chat', model: 'm', headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-00` } })
  const attempt = tracing.startAttemptSpan(root, { operation: 'chat', upstreamModel: 'm', providerType: 'openai', deploymentId: 'd' })
  const headers = tracing.injectHeaders(attempt, {} as Record<string, string>)
  t.match(headers.traceparent, new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`), 'the trace goes on, unsampled')
  tracing.endAttemptSpan(attempt, { outcome: 'ok' })
  tracing.endRequestSpan(root, { status: 200 })
  await tracing.forceFlush()
  t.equal(receiver.spans.length, 0, 'the client decided not to sample')
})
