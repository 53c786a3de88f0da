// Relays one upstream SSE response to the client as OpenAI chunks: passed
// through for OpenAI-compatible upstreams, translated otherwise. Tracks usage
// (stripping the usage chunk the client did not ask for), ends with [DONE] or
// one SSE error event, and records the outcome however the stream ends.
import type { ChatCompletionChunk, ChatCompletionRequest, Usage } from '../openai/types.js'
import type { DeploymentEntry } from '../routing/table.js'
import { UpstreamError, type StreamTranslator } from '../providers/types.js'
import { errors, fromErrorInfo, GatewayError } from '../errors.js'
import { SseParser, SSE_DONE } from '../sse.js'
import { isDeploymentFault, type FailureKind } from '../resilience/classify.js'
import { attemptFailure, errorEvent, withCost } from './failures.js'
import type { AttemptDeadline } from './timeouts.js'
import type { AttemptRecord, CompletionRecord, ProxyJob } from './types.js'

export interface RelayParams {
  job: ProxyJob<ChatCompletionRequest>
  deployment: DeploymentEntry
  /** Already read from the upstream before the response was committed. */
  firstChunk: Buffer
  iterator: AsyncIterator<Buffer>
  translator: StreamTranslator | undefined
  deadline: AttemptDeadline
  started: number
  ttftMs: number
  record: (ok: boolean, status: number, extra?: Partial<AttemptRecord>) => void
  costOf?: (deployment: DeploymentEntry, usage: Usage) => number | undefined
  onComplete?: (record: CompletionRecord) => void
  /** Attempts the request took so far (retries and fallbacks included). */
  attempts: () => number
}

const now = () => performance.now()

export async function* relayStream(params: RelayParams): AsyncGenerator<string> {
  const { job, deployment, firstChunk, iterator, translator, deadline, started, ttftMs, record, costOf, onComplete, attempts } = params
  const parser = new SseParser()
  let usage: Usage | undefined
  let usageChunk: ChatCompletionChunk | undefined
  let sawDone = false
  let costUsd: number | undefined
  let failure: GatewayError | undefined
  // How it failed, for the circuit breaker; in-band error events are 'http'.
  let failureKind: FailureKind = 'http'
  // Chunks translated from the same network read as an in-band upstream error.
  let unsent = ''
  // Stays true only when the client went away and the generator was returned.
  let returned = true

  const handle = (events: ReturnType<SseParser['push']>): string => {
    let out = ''
    for (const ev of events) {
      if (translator) {
        let chunks: ChatCompletionChunk[]
        try {
          chunks = translator.push(ev)
        } catch (err) {
          unsent = out
          throw err
        }
        for (const chunk of chunks) {
          if (chunk.usage) {
            usage = chunk.usage
            if (chunk.choices.length === 0) {
              usageChunk = chunk
              continue
            }
          }
          out += `data: ${JSON.stringify(chunk)}\n\n`
        }
        continue
      }
      const data = ev.data
      if (data === '[DONE]') {
        sawDone = true
        continue
      }
      if (data.includes('"usage":{')) {
        try {
          const chunk = JSON.parse(data) as ChatCompletionChunk
          if (chunk.usage) {
            usage = chunk.usage
            if (!chunk.choices || chunk.choices.length === 0) {
              usageChunk = chunk
              continue
            }
          }
        } catch {
          // Not JSON: pass it on untouched, the client sees what the upstream sent.
        }
      } else if (data.startsWith('{"error"')) {
        try {
          const e = (JSON.parse(data) as { error: { message?: string; type?: string; code?: string } }).error
          failure = new GatewayError({ status: 502, type: e.type ?? 'upstream_error', code: e.code ?? null, message: e.message ?? 'upstream stream error' })
          // Sent once, as the final event below.
          continue
        } catch {
          // Fall through: forwarded as is.
        }
      }
      out += `data: ${data}\n\n`
    }
    return out
  }

  try {
    let out = handle(parser.push(firstChunk))
    if (out) yield out
    for (;;) {
      const next = await iterator.next()
      if (next.done) break
      out = handle(parser.push(next.value))
      if (out) yield out
    }
    const tail = handle(parser.end())
    if (tail) yield tail
    if (translator) {
      for (const chunk of translator.finish()) {
        if (chunk.usage) usage = chunk.usage
        if (chunk.choices.length === 0) usageChunk = chunk
        else yield `data: ${JSON.stringify(chunk)}\n\n`
      }
    }
    const complete = translator ? translator.done : sawDone
    if (!complete && !failure) {
      failure = errors.upstreamBadResponse('the upstream stream ended before it was complete')
      failureKind = 'bad_response'
    }
    returned = false
  } catch (err) {
    returned = false
    if (err instanceof UpstreamError) failure = fromErrorInfo(err.info, [job.table.providers.get(deployment.provider)?.settings.apiKey])
    else if (deadline.reason === 'first_byte_timeout' || deadline.reason === 'total_timeout') {
      failure = attemptFailure(err, deadline.reason).gatewayError
      failureKind = 'timeout'
    } else if (deadline.reason !== 'client_closed') {
      failure = errors.upstreamStreamInterrupted((err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? 'unknown error')
      failureKind = 'network'
    }
  } finally {
    // Runs on completion, on upstream failure and when the client goes away
    // (the Readable is destroyed and this generator returned): in every case
    // the upstream request is released and the outcome recorded.
    const clientClosed = returned || deadline.reason === 'client_closed'
    deadline.abort('client_closed')
    void iterator.return?.()
    costUsd = usage ? costOf?.(deployment, usage) : undefined
    const error = failure?.code ?? (clientClosed ? 'client_closed' : undefined)
    const failed = failure ? { failure: failureKind, fault: isDeploymentFault(failureKind, failure.statusCode, failure.code) } : clientClosed ? { failure: 'client_closed' as const, fault: false } : {}
    record(!failure && !clientClosed, 200, { ttftMs, usage, totalMs: now() - started, error, clientClosed, ...failed })
    onComplete?.({
      requestId: job.requestId, operation: 'chat', requestedModel: job.model.name, deployment, stream: true,
      status: failure ? failure.statusCode : clientClosed ? 499 : 200, attempts: attempts(), usage, costUsd, error, meta: job.meta,
    })
  }
  // Reached only when the client is still there.
  if (unsent) yield unsent
  if (usageChunk && job.includeUsage) {
    yield `data: ${JSON.stringify(costUsd !== undefined ? withCost(usageChunk, costUsd) : usageChunk)}\n\n`
  }
  yield failure ? errorEvent(failure) : SSE_DONE
}
