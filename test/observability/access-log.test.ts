// The access-log line: every documented field, nothing else, no secrets.
import { test } from 'tap'
import { accessLogLine, type AccessLogInput } from '../../lib/observability/access-log.js'

test('a completed request: every field named as documented', async (t) => {
  const line = accessLogLine({
    requestId: 'req-1',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    keyName: 'ci',
    tenant: 'acme',
    entryPoint: 'chat',
    requestedModel: 'gpt-4o',
    fallbackModel: 'claude',
    deploymentId: 'claude@anthropic',
    provider: 'anthropic',
    stream: true,
    status: 200,
    attempts: 3,
    usage: { inputTokens: 10, outputTokens: 20, cacheReadTokens: 4, cacheWriteTokens: 1, reasoningTokens: 2 },
    usageSource: 'upstream',
    costUsd: 0.0012,
    durationMs: 812.34567,
    overheadMs: 0.41234,
    ttftMs: 120.5,
  })
  t.same(line, {
    requestId: 'req-1',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    key: 'ci',
    tenant: 'acme',
    entryPoint: 'chat',
    model: 'gpt-4o',
    fallbackModel: 'claude',
    deployment: 'claude@anthropic',
    provider: 'anthropic',
    stream: true,
    status: 200,
    attempts: 3,
    inputTokens: 10,
    outputTokens: 20,
    cachedTokens: 4,
    cacheWriteTokens: 1,
    reasoningTokens: 2,
    usageSource: 'upstream',
    costUsd: 0.0012,
    durationMs: 812.346,
    overheadMs: 0.412,
    ttftMs: 120.5,
  })
})

test('a refusal: the reason, and no unset fields', async (t) => {
  const line = accessLogLine({ requestId: 'req-2', entryPoint: 'chat', requestedModel: 'gpt-4o', status: 429, refusal: 'rate_limit_requests', errorCode: 'rate_limit_exceeded', keyName: 'ci' })
  t.same(line, { requestId: 'req-2', key: 'ci', entryPoint: 'chat', model: 'gpt-4o', status: 429, refusal: 'rate_limit_requests', errorCode: 'rate_limit_exceeded' })
  t.notOk('usageSource' in line, 'no usage source without usage')
})

test('only listed fields: secrets and content handed in by mistake stay out', async (t) => {
  const input = {
    requestId: 'req-3',
    entryPoint: 'chat',
    status: 200,
    apiKey: 'sk-live-should-never-appear',
    authorization: 'Bearer sk-live-should-never-appear',
    headers: { authorization: 'Bearer sk-live-should-never-appear' },
    messages: [{ role: 'user', content: 'private prompt' }],
  } as AccessLogInput
  const text = JSON.stringify(accessLogLine(input))
  t.notMatch(text, /sk-live|private prompt|authorization|apiKey/i)
  t.same(JSON.parse(text), { requestId: 'req-3', entryPoint: 'chat', status: 200 })
})

test('a client-sent model string is cut to 256 characters', async (t) => {
  const line = accessLogLine({ requestId: 'r', entryPoint: 'chat', status: 404, requestedModel: 'x'.repeat(10_000) })
  t.equal(line.model?.length, 256)
})

test('the observer builds no line while info is off, and resumes when it is on again', async (t) => {
  const { createAccessLogObserver } = await import('../../lib/pipeline/observers/access-log.js')
  const lines: unknown[] = []
  let on = false
  const observer = createAccessLogObserver((l) => lines.push(l), () => on)
  const ctx = { id: 'r1', identity: { name: 'k', tenant: null }, entryPoint: 'chat', body: { model: 'm' }, startedAt: performance.now() }
  const outcome = { status: 200, attempts: 1, stream: false, usageSource: 'none' as const }
  observer.onOutcome!(ctx as never, outcome as never)
  observer.onRefusal!(ctx as never, { statusCode: 429, code: 'rate_limited' } as never, 'rate-limit')
  t.equal(lines.length, 0, 'nothing built or written at warn')
  on = true
  observer.onOutcome!(ctx as never, outcome as never)
  observer.onRefusal!(ctx as never, { statusCode: 429, code: 'rate_limited' } as never, 'rate-limit')
  t.equal(lines.length, 2)
  t.match(lines[0], { requestId: 'r1', status: 200 })
})
