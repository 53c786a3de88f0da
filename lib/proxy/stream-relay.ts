// Relays one upstream SSE response to the client as OpenAI chunks: passed
// through for OpenAI-compatible upstreams, translated otherwise. Tracks usage
// (stripping the usage chunk the client did not ask for), ends with [DONE] or
// one SSE error event, and records the outcome however the stream ends.
// When the upstream's usage never arrives (cut, abandoned by the client,
// never sent) the outcome carries the gateway's estimate instead: the prompt
// as counted before the call plus the completion text relayed so far.
import type { ChatCompletionChunk, ChatCompletionRequest, Usage } from '../openai/types.js'
import type { DeploymentEntry } from '../routing/table.js'
import { UpstreamError, type StreamTranslator } from '../providers/types.js'
import { errors, fromErrorInfo, GatewayError } from '../errors.js'
import { SseParser, SseTooLargeError, SSE_DONE } from '../sse.js'
import { DEFAULT_UPSTREAM_MAX_EVENT_BYTES } from './read.js'
import { isDeploymentFault, type FailureKind } from '../resilience/classify.js'
import { attemptFailure, errorEvent, inBandError, withCost } from './failures.js'
import type { AttemptDeadline } from './timeouts.js'
import type { AttemptRecord, ProxyJob } from './types.js'
import { CompletionTally, estimatedUsage, sanitizeUsage, type UsageSource } from './usage.js'
import type { RelayBody } from './relay-body.js'

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
  /** Attempts the request took so far (retries and fallbacks included). */
  attempts: () => number
  /** The fallback model being relayed, when it is not the requested one. */
  fallbackModel?: () => string | undefined
  /** Estimated prompt tokens on this deployment, for a stream that ends without usage. */
  estimatePromptTokens?: () => number
  /** Counts relayed completion text as the deployment's provider would (default: 4 characters a token). */
  countText?: (text: string) => number
  /** Aborted when the gateway shuts down: the stream is ended with an error event and recorded. */
  closing?: AbortSignal
  /** Longest SSE line or event read from the upstream (UPSTREAM_MAX_EVENT_BYTES); past it the stream fails. */
  maxEventBytes?: number
}

/** The final usage chunk as the client gets it: the recorded figures, cost and their source. */
function usageChunkOut(chunk: ChatCompletionChunk, usage: Usage, costUsd: number | undefined, source: UsageSource): ChatCompletionChunk {
  const out = costUsd !== undefined ? withCost({ ...chunk, usage }, costUsd) : { ...chunk, usage }
  const extra = (out.switchyard as Record<string, unknown> | undefined) ?? {}
  return { ...out, switchyard: { ...extra, usage_source: source } }
}

const now = () => performance.now()

/**
 * Whether a pass-through event may carry the upstream's usage or an in-band
 * error, the only two things the relay must read as it goes. Chunks of text
 * (nearly all of them) are not parsed: OpenAI writes `"usage":null` on each
 * when usage was asked for, and a real key is always written unescaped.
 */
const FINISH_REASON = /"finish_reason":\s*"([^"]{1,64})"/g

/**
 * Adds the finish reasons a raw chunk names. Almost every chunk carries
 * `"finish_reason":null`, so only a string value (the last chunk) reaches
 * the regex.
 */
function noteFinishReasons(data: string, into: Set<string>): void {
  if (!data.includes('"finish_reason":"') && !data.includes('"finish_reason": "')) return
  for (const m of data.matchAll(FINISH_REASON)) into.add(m[1]!)
}

const mayCarry = (data: string): boolean => data.startsWith('{"error"') || (data.includes('"usage"') && !data.includes('"usage":null'))

/** Unparsed relayed text kept for the tally past which it is counted right away, so a long stream keeps little. */
const TALLY_PENDING_MAX_CHARS = 64 * 1024

/**
 * Relays the upstream's events into `body` until the stream ends, fails or
 * the consumer goes away; records the attempt and the outcome in every case.
 * Never rejects.
 */
export async function relayStream(params: RelayParams, body: RelayBody): Promise<void> {
  const { job, deployment, firstChunk, iterator, translator, deadline, started, ttftMs, record, costOf, attempts } = params
  const parser = new SseParser({ maxEventSize: params.maxEventBytes ?? DEFAULT_UPSTREAM_MAX_EVENT_BYTES })
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
  let usageSource: UsageSource | undefined
  const tally = new CompletionTally(params.countText ?? ((text) => Math.ceil(text.length / 4)))
  // id / created / model of the relayed chunks, for a usage chunk the gateway has to write itself.
  let lastChunk: { id?: unknown; created?: unknown; model?: unknown } | undefined
  // Pass-through chunks relayed without parsing: counted (parsed) only if the
  // upstream's usage never comes, or once they add up to TALLY_PENDING_MAX_CHARS.
  let pending: string[] = []
  let pendingChars = 0
  let lastData: string | undefined
  const tallyPending = () => {
    for (const data of pending) {
      try {
        tally.addChunk(JSON.parse(data))
      } catch {
        // not JSON: nothing to count
      }
    }
    pending = []
    pendingChars = 0
  }
  // Set when the gateway itself ends the stream (shutdown): not the client's doing nor the deployment's.
  let endedByGateway = false
  const onClosing = () => {
    endedByGateway = true
    deadline.controller.abort(new Error('gateway shutting down'))
    deadline.dispose()
  }
  if (params.closing?.aborted) onClosing()
  else params.closing?.addEventListener('abort', onClosing, { once: true })

  // The choices' finish reasons, for the attempt's record (and its span).
  const finishReasons = new Set<string>()
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
            usage = sanitizeUsage(chunk.usage)
            if (chunk.choices.length === 0) {
              usageChunk = chunk
              continue
            }
          }
          tally.addChunk(chunk)
          for (const c of chunk.choices) if (c.finish_reason) finishReasons.add(c.finish_reason)
          lastChunk = chunk
          out += `data: ${JSON.stringify(chunk)}\n\n`
        }
        continue
      }
      const data = ev.data
      if (data === '[DONE]') {
        sawDone = true
        continue
      }
      noteFinishReasons(data, finishReasons)
      if (!mayCarry(data)) {
        pending.push(data)
        pendingChars += data.length
        if (pendingChars > TALLY_PENDING_MAX_CHARS) tallyPending()
        lastData = data
        out += `data: ${data}\n\n`
        continue
      }
      // Parsed once: for the usage chunk, an in-band error, and the tally of what the client got.
      let parsed: unknown
      try {
        parsed = JSON.parse(data)
      } catch {
        // Not JSON: pass it on untouched, the client sees what the upstream sent.
      }
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const chunk = parsed as ChatCompletionChunk & { error?: { message?: string; type?: string; code?: string } }
        const inBand = inBandError(data, [job.table.providers.get(deployment.provider)?.settings.apiKey], parsed)
        if (inBand) {
          failure = inBand
          // Sent once, as the final event below.
          continue
        }
        if (chunk.usage) {
          usage = sanitizeUsage(chunk.usage)
          if (!chunk.choices || chunk.choices.length === 0) {
            usageChunk = chunk
            continue
          }
        }
        // In order: what was relayed before this chunk first.
        if (pending.length) tallyPending()
        tally.addChunk(chunk)
        lastChunk = chunk
        lastData = undefined
      }
      out += `data: ${data}\n\n`
    }
    return out
  }

  try {
    let out = handle(parser.push(firstChunk))
    let wait = out ? body.write(out) : undefined
    for (;;) {
      if (wait) await wait
      const next = await iterator.next()
      if (next.done) break
      out = handle(parser.push(next.value))
      wait = out ? body.write(out) : undefined
    }
    const tail = handle(parser.end())
    if (tail) await body.write(tail)
    if (translator) {
      for (const chunk of translator.finish()) {
        if (chunk.usage) usage = sanitizeUsage(chunk.usage)
        if (chunk.choices.length === 0) usageChunk = chunk
        else {
          tally.addChunk(chunk)
          lastChunk = chunk
          await body.write(`data: ${JSON.stringify(chunk)}\n\n`)
        }
      }
    }
    const complete = translator ? translator.done : sawDone
    if (!complete && !failure) {
      failure = errors.upstreamBadResponse('the upstream stream ended before it was complete')
      failureKind = 'bad_response'
    }
    returned = false
  } catch (err) {
    // A consumer that stops reading destroys the body: the next write throws
    // an AbortError (ConsumerGoneError) and the upstream read is aborted
    // (the deadline, reason client_closed): the client went away, as when an
    // HTTP client disconnects.
    returned = (err as Error)?.name === 'AbortError' && deadline.reason === undefined && !endedByGateway
    if (returned) {
      // nothing failed upstream
    } else if (endedByGateway) {
      failure = errors.gatewayShuttingDown()
      failureKind = 'client_closed'
    } else if (err instanceof SseTooLargeError) {
      // The upstream is cut off (the iterator is returned below), not drained.
      failure = errors.upstreamTooLarge(`stream ${err.what}`, err.limit, 'UPSTREAM_MAX_EVENT_BYTES')
      failureKind = 'bad_response'
    } else if (err instanceof UpstreamError) failure = fromErrorInfo(err.info, [job.table.providers.get(deployment.provider)?.settings.apiKey])
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
    const clientClosed = returned || (deadline.reason === 'client_closed' && !endedByGateway)
    // A stream read to its end has nothing left to cancel: the timers go, and
    // no abort (an Error and an event) is paid per stream.
    if (returned || failure || deadline.reason !== undefined) deadline.abort('client_closed')
    else deadline.dispose()
    params.closing?.removeEventListener('abort', onClosing)
    void iterator.return?.()
    // The stream was committed, so the upstream read the prompt: without its
    // usage the request is charged what the gateway can count.
    if (usage) usageSource = 'upstream'
    else {
      tallyPending()
      usage = estimatedUsage(params.estimatePromptTokens?.() ?? 0, tally.tokens())
      usageSource = 'estimate'
    }
    costUsd = costOf?.(deployment, usage)
    const error = failure?.code ?? (clientClosed ? 'client_closed' : undefined)
    const failed = failure
      ? { failure: failureKind, fault: !endedByGateway && isDeploymentFault(failureKind, failure.statusCode, failure.code) }
      : clientClosed ? { failure: 'client_closed' as const, fault: false } : {}
    // A shutdown is neither the deployment's fault nor a latency sample: flagged like a client that left.
    record(!failure && !clientClosed, 200, {
      ttftMs, usage, usageSource, totalMs: now() - started, error, clientClosed: clientClosed || endedByGateway, ...failed,
      ...(finishReasons.size > 0 ? { finishReasons: [...finishReasons] } : {}),
    })
    job.report.outcome({
      deployment, fallbackModel: params.fallbackModel?.(), stream: true, ttftMs,
      status: failure ? failure.statusCode : clientClosed ? 499 : 200, attempts: attempts(), usage, usageSource, costUsd, error,
    })
  }
  // Only when the client is still there.
  if (body.gone) return
  let usageOut: string | undefined
  if (job.includeUsage && usage && usageSource) {
    if (!usageChunk && lastData !== undefined) {
      try {
        const parsed: unknown = JSON.parse(lastData)
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) lastChunk = parsed as typeof lastChunk
      } catch {
        // not JSON: the defaults below
      }
    }
    const base = usageChunk ?? {
      id: typeof lastChunk?.id === 'string' ? lastChunk.id : `chatcmpl-${job.requestId}`,
      object: 'chat.completion.chunk' as const,
      created: typeof lastChunk?.created === 'number' ? lastChunk.created : job.created,
      model: typeof lastChunk?.model === 'string' ? lastChunk.model : deployment.upstreamModel,
      choices: [],
    }
    usageOut = `data: ${JSON.stringify(usageChunkOut(base, usage, costUsd, usageSource))}\n\n`
  }
  try {
    if (unsent) await body.write(unsent)
    if (usageOut) await body.write(usageOut)
    await body.write(failure ? errorEvent(failure) : SSE_DONE)
    body.end()
  } catch {
    // The consumer went away while the end was written: everything is recorded already.
  }
}
