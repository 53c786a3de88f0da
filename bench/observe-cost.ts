// Cost of observing one request, in CPU time on this thread: GatewayMetrics'
// onRequest + two onAttempt calls, a traced request (one server span, two
// attempt spans, traceparent injection, OTLP/HTTP export to a local sink),
// the access-log line, and a scrape of the resulting registry. A
// micro-benchmark: the end-to-end throughput comparison (metrics and tracing
// on vs off) belongs to `npm run bench`.
//
//   npx tsc -p tsconfig.json && node dist/bench/observe-cost.js
//   OBSERVE_BENCH_N=200000 node dist/bench/observe-cost.js
import { GatewayMetrics } from '../lib/observability/metrics.js'
import { createTracing } from '../lib/observability/tracing.js'
import { accessLogLine } from '../lib/observability/access-log.js'
import type { RequestEvent } from '../lib/observability/types.js'
import { createServer } from 'node:http'

const N = Number(process.env.OBSERVE_BENCH_N ?? 100_000)
const MODELS = 20
const DEPLOYMENTS = 3

function event(i: number): RequestEvent {
  const model = `model-${i % MODELS}`
  return {
    entryPoint: i % 10 === 0 ? 'embeddings' : 'chat',
    modelLabel: model,
    status: i % 50 === 0 ? 502 : 200,
    stream: i % 2 === 0,
    durationMs: 200 + (i % 800),
    ttftMs: 50 + (i % 100),
    overheadMs: 0.2 + (i % 10) / 100,
    usage: { inputTokens: 100 + (i % 1000), outputTokens: 10 + (i % 300), cacheReadTokens: i % 3 === 0 ? 64 : 0 },
    costUsd: 0.0001 * (1 + (i % 7)),
    usageSource: 'upstream',
    deploymentId: `${model}@d${i % DEPLOYMENTS}`,
    provider: `p${i % DEPLOYMENTS}`,
    providerType: 'openai',
    serverAddress: `api${i % DEPLOYMENTS}.example.com`,
    serverPort: 443,
    tenant: `t${i % 5}`,
    responseModel: `${model}-2024`,
    errorType: i % 50 === 0 ? 'upstream_unreachable' : undefined,
  }
}

function time(label: string, n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 5_000); i++) fn(i) // warm-up
  const start = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) fn(i)
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(start)
  const us = ((cpu.user + cpu.system) / n).toFixed(2)
  console.log(`${label.padEnd(44)} ${us.padStart(8)} µs CPU per request   (${((wall * 1000) / n).toFixed(2)} µs wall)`)
  return Number(us)
}

const events = Array.from({ length: 1_000 }, (_, i) => event(i))

const metrics = new GatewayMetrics({ defaultMetrics: false })
console.log(`observe-cost: ${N} requests, ${MODELS} models x ${DEPLOYMENTS} deployments, Node ${process.version}\n`)
time('metrics: onRequest + 2 x onAttempt', N, (i) => {
  const e = events[i % events.length]!
  metrics.onAttempt({ deploymentId: e.deploymentId!, provider: e.provider!, modelLabel: e.modelLabel, outcome: 'failed_over' })
  metrics.onAttempt({ deploymentId: e.deploymentId!, provider: e.provider!, modelLabel: e.modelLabel, outcome: 'ok' })
  metrics.onRequest(e)
})

// Tracing with the real OTLP/HTTP exporter, to a local sink that discards:
// span creation, the batch processor and JSON serialization all count (the
// sink's own reads too, so the figure is a little high).
const sink = createServer((req, res) => {
  req.resume()
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
})
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve))
const endpoint = `http://127.0.0.1:${(sink.address() as { port: number }).port}`
const tracing = createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }, { batch: { maxQueueSize: 16_384, maxExportBatchSize: 1_024, scheduledDelayMillis: 200 } })!

async function timeTracing(label: string, n: number, traceparent: string): Promise<void> {
  const headers = { traceparent }
  const one = (i: number) => {
    const e = events[i % events.length]!
    const root = tracing.startRequestSpan({ operation: 'chat', model: e.modelLabel, headers, stream: e.stream })
    for (const outcome of ['failed_over', 'ok'] as const) {
      const a = tracing.startAttemptSpan(root, { operation: 'chat', upstreamModel: e.modelLabel, providerType: 'openai', deploymentId: e.deploymentId!, serverAddress: e.serverAddress, serverPort: 443 })
      tracing.injectHeaders(a, {} as Record<string, string>)
      tracing.endAttemptSpan(a, { outcome, status: outcome === 'ok' ? 200 : 503, usage: e.usage })
    }
    tracing.endRequestSpan(root, { status: e.status, usage: e.usage, attempts: 2 })
  }
  for (let i = 0; i < 2_000; i++) one(i)
  await tracing.forceFlush()
  const start = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    one(i)
    // Let the exporter run as it would between requests.
    if (i % 1_000 === 999) await new Promise((r) => setImmediate(r))
  }
  await tracing.forceFlush()
  const cpu = process.cpuUsage(start)
  console.log(`${label.padEnd(44)} ${((cpu.user + cpu.system) / n).toFixed(2).padStart(8)} µs CPU per request   (export included)`)
}
const TRACE_N = Math.min(N, 50_000)
await timeTracing('tracing: 3 spans, sampled, OTLP/HTTP JSON', TRACE_N, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
await timeTracing('tracing: 3 spans, client said not sampled', TRACE_N, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')

time('access log: build the line', N, (i) => {
  const e = events[i % events.length]!
  accessLogLine({ requestId: 'r', entryPoint: e.entryPoint, status: e.status, requestedModel: e.modelLabel, deploymentId: e.deploymentId, usage: e.usage, usageSource: e.usageSource, costUsd: e.costUsd, durationMs: e.durationMs, overheadMs: e.overheadMs, ttftMs: e.ttftMs })
})

const text = await metrics.metrics()
const SCRAPES = 20
const scrapeStart = process.cpuUsage()
for (let i = 0; i < SCRAPES; i++) await metrics.metrics()
const scrapeCpu = process.cpuUsage(scrapeStart)
const seriesCount = text.split('\n').filter((l) => l && !l.startsWith('#')).length
console.log(`\nscrape: ${seriesCount} series, ${(text.length / 1024).toFixed(0)} KiB, ${((scrapeCpu.user + scrapeCpu.system) / SCRAPES / 1000).toFixed(1)} ms CPU per scrape`)
await tracing.shutdown()
sink.close()
