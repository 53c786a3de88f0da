// Native attempts: a front door's request (Anthropic Messages, legacy
// completions, the Responses API) sent to a deployment whose provider speaks
// that API. The client's body goes out as sent with only `model` rewritten,
// the answer comes back as sent, and the usage the engine settles on (cost,
// records, TPM, budgets) is read out of the native answer by the job's
// watcher. Failures are AttemptErrors like any other attempt's, so retries,
// fallbacks and cooldowns work unchanged (lib/proxy/engine.ts).
//
// Streams are relayed event by event, re-framed (`event:`/`data:` lines, the
// data as the upstream sent it): an upstream cut in the middle of an event
// never leaves half an event in front of the gateway's closing error event.
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { errors, fromErrorInfo, type GatewayError } from '../errors.js'
import { UpstreamError } from '../providers/types.js'
import type { Usage } from '../openai/types.js'
import type { DeploymentEntry, ProviderEntry } from '../routing/table.js'
import { SseParser, SseTooLargeError, type SseEvent } from '../sse.js'
import { isDeploymentFault, type FailureKind } from '../resilience/classify.js'
import { attemptFailure, AttemptError } from './failures.js'
import { upstreamTarget } from './pools.js'
import { failUpstreamStatus, openEventStream, readBuffer, DEFAULT_UPSTREAM_MAX_EVENT_BYTES } from './read.js'
import { ensureStreamUsage, rewriteModel } from './body.js'
import { AttemptDeadline, type Timeouts } from './timeouts.js'
import { estimatedUsage, estimatePromptTokens, sanitizeUsage, textTokenCounter, type UsageSource } from './usage.js'
import type { AttemptRecord, EngineOptions, NativeJob, ProxyJob, ProxyResponse } from './types.js'
import { RelayBody } from './relay-body.js'
import type { ChatCompletionRequest } from '../openai/types.js'

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' }
const now = () => performance.now()

/** What a native attempt needs of the engine that runs it. */
export interface NativeAttemptHost {
  options: EngineOptions
  timeouts: Timeouts
  /** Aborted when the gateway shuts down. */
  closing: AbortSignal
  /** Attempts the request took so far. */
  attempts(): number
  fallbackModel(): string | undefined
  /** Reports a non-streamed outcome and builds the response (the engine's finish()). */
  finish(status: number, body: Buffer, usage: Usage, upstreamMs: number, usageSource: UsageSource): Omit<ProxyResponse, 'attempts'>
  /** Tracks an open stream body (shutdown ends it). */
  track(body: Readable): void
}

/** Whether the job's native form is what this deployment gets. */
export function goesNative(job: ProxyJob<unknown>, provider: ProviderEntry): job is ProxyJob<unknown> & { native: NativeJob } {
  return job.native !== undefined && job.native.accepts(provider)
}

/** Counts text pieces in bounded pieces, like CompletionTally, for a stream that ends without usage. */
class TextTally {
  private pending = ''
  private counted = 0
  constructor(private readonly count: (text: string) => number) {}
  add(text: string | undefined): void {
    if (!text) return
    this.pending += text
    if (this.pending.length >= 16 * 1024) {
      this.counted += this.count(this.pending)
      this.pending = ''
    }
  }
  tokens(): number {
    if (this.pending) this.counted += this.count(this.pending)
    this.pending = ''
    return this.counted
  }
}

function frame(ev: SseEvent): string {
  let out = ev.event !== undefined ? `event: ${ev.event}\n` : ''
  if (ev.id !== undefined) out += `id: ${ev.id}\n`
  for (const line of ev.data.split('\n')) out += `data: ${line}\n`
  return `${out}\n`
}

/**
 * One attempt of a job with a native form on a deployment that takes it, or
 * that cannot take the canonical form either (`untranslatable`: a failed
 * attempt without a call).
 */
export async function nativeAttempt(
  host: NativeAttemptHost,
  job: ProxyJob<ChatCompletionRequest> & { native: NativeJob },
  deployment: DeploymentEntry,
  provider: ProviderEntry,
  info: { probe: boolean; retry: number },
): Promise<Omit<ProxyResponse, 'attempts'>> {
  const native = job.native
  const started = now()
  const release = native.accepts(provider) ? host.options.inflight?.acquire(deployment.id) : undefined
  // Called exactly once per attempt, when its outcome is known.
  const record = (ok: boolean, status: number, extra: Partial<AttemptRecord> = {}) => {
    release?.()
    job.report.attempt({
      requestId: job.requestId, deployment, operation: 'chat', stream: job.stream, ok, status, totalMs: now() - started,
      probe: info.probe || undefined, retry: info.retry, ...extra,
    })
  }
  if (!native.accepts(provider)) {
    const failure = new AttemptError(native.untranslatable ?? errors.invalidBody('this request cannot be sent to this deployment'), 400, 'unsupported')
    record(false, 0, failure.recordExtra)
    throw failure
  }
  const { timeouts } = host
  const deadline = new AttemptDeadline(job.signal, job.stream ? timeouts.streamFirstByteMs : timeouts.firstByteMs, timeouts.totalMs)
  const secrets = [provider.settings.apiKey]

  let upstream: Dispatcher.ResponseData
  try {
    const endpoint = native.endpoint(provider.settings, deployment.upstreamModel, job.stream)
    const target = upstreamTarget(endpoint.url)
    let body = rewriteModel(native.raw, deployment.upstreamModel, native.parsed)
    if (job.stream && native.streamUsage) body = ensureStreamUsage(body, native.parsed)
    const pool = host.options.pools.get(target.origin, { connections: provider.maxConnections, connectTimeoutMs: timeouts.connectMs, guarded: provider.source !== 'yaml' })
    upstream = await pool.request({
      method: 'POST',
      path: target.path,
      headers: { ...job.upstreamHeaders, ...native.headers, ...endpoint.headers, 'content-type': 'application/json', accept: job.stream ? 'text/event-stream' : 'application/json' },
      body,
      signal: deadline.signal,
    })
  } catch (err) {
    deadline.dispose()
    const failure = attemptFailure(err, deadline.reason)
    record(false, 0, failure.recordExtra)
    throw failure
  }

  if (upstream.statusCode >= 300) await failUpstreamStatus(upstream, provider.adapter, secrets, deadline, record)

  if (job.stream) return nativeStream(host, job, deployment, provider, upstream, deadline, started, record)

  try {
    const buffer = await readBuffer(upstream.body, host.options.maxBodyBytes, upstream.headers)
    deadline.dispose()
    const upstreamMs = now() - started
    let parsed: unknown
    try {
      parsed = JSON.parse(buffer.toString('utf8'))
    } catch {
      throw new AttemptError(errors.upstreamBadResponse('the body is not valid JSON'), 502, 'bad_response')
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new AttemptError(errors.upstreamBadResponse('the body is not a JSON object'), 502, 'bad_response')
    let usage = sanitizeUsage(native.usage(parsed))
    let usageSource: UsageSource = 'upstream'
    if (!usage) {
      usage = estimatedUsage(estimatePromptTokens(job.body, deployment), textTokenCounter(deployment)(native.text(parsed)))
      usageSource = 'estimate'
    }
    record(true, upstream.statusCode, { usage, usageSource })
    const response = host.finish(upstream.statusCode, buffer, usage, upstreamMs, usageSource)
    return { ...response, native: true }
  } catch (err) {
    deadline.dispose()
    const failure = err instanceof AttemptError ? err : attemptFailure(err, deadline.reason)
    record(false, err instanceof AttemptError ? err.status : 0, failure.recordExtra)
    throw failure
  }
}

async function nativeStream(
  host: NativeAttemptHost,
  job: ProxyJob<ChatCompletionRequest> & { native: NativeJob },
  deployment: DeploymentEntry,
  provider: ProviderEntry,
  upstream: Dispatcher.ResponseData,
  deadline: AttemptDeadline,
  started: number,
  record: (ok: boolean, status: number, extra?: Partial<AttemptRecord>) => void,
): Promise<Omit<ProxyResponse, 'attempts'>> {
  const { iterator, first } = await openEventStream(upstream, deadline, host.options.maxEventBytes, record)
  // Nothing is committed yet: a stream that opens with an error is a failed attempt (retried, or the next candidate).
  const [head] = new SseParser().push(first)
  const leading = head ? job.native.watch().observe(head)?.error : undefined
  if (leading) {
    deadline.dispose()
    void iterator.return?.()
    const failure = new AttemptError(leading, leading.statusCode, 'http', leading.headers['retry-after'] ? Number(leading.headers['retry-after']) * 1000 : undefined)
    record(false, upstream.statusCode, failure.recordExtra)
    throw failure
  }
  deadline.firstByte()
  const ttftMs = now() - started
  const params: RelayParams = { host, job, deployment, provider, first, iterator, deadline, started, ttftMs, record }
  const body = new RelayBody((b) => relayNative(params, b), () => deadline.abort('client_closed'))
  host.track(body)
  return { status: 200, headers: { ...SSE_HEADERS }, body, deployment, upstreamMs: ttftMs, native: true }
}

interface RelayParams {
  host: NativeAttemptHost
  job: ProxyJob<ChatCompletionRequest> & { native: NativeJob }
  deployment: DeploymentEntry
  provider: ProviderEntry
  first: Buffer
  iterator: AsyncIterator<Buffer>
  deadline: AttemptDeadline
  started: number
  ttftMs: number
  record: (ok: boolean, status: number, extra?: Partial<AttemptRecord>) => void
}

/** Relays the upstream's events into `body` as they came; records the attempt and the outcome however it ends. Never rejects. */
async function relayNative(p: RelayParams, body: RelayBody): Promise<void> {
  const { host, job, deployment, iterator, deadline, record, ttftMs } = p
  const watcher = job.native.watch()
  const parser = new SseParser({ maxEventSize: host.options.maxEventBytes ?? DEFAULT_UPSTREAM_MAX_EVENT_BYTES })
  const tally = new TextTally(textTokenCounter(deployment))
  let failure: GatewayError | undefined
  // The failure was an in-band error event, already relayed as sent.
  let relayedError = false
  let failureKind: FailureKind = 'http'
  let returned = true
  let endedByGateway = false
  const onClosing = () => {
    endedByGateway = true
    deadline.controller.abort(new Error('gateway shutting down'))
    deadline.dispose()
  }
  if (host.closing.aborted) onClosing()
  else host.closing.addEventListener('abort', onClosing, { once: true })

  const handle = (events: SseEvent[]): string => {
    let out = ''
    for (const ev of events) {
      const view = watcher.observe(ev)
      if (view?.error && !failure) {
        failure = view.error
        relayedError = true
      }
      tally.add(view?.text)
      if (view?.drop) continue
      out += frame(ev)
    }
    return out
  }

  try {
    let out = handle(parser.push(p.first))
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
    if (!watcher.complete && !failure) {
      failure = errors.upstreamBadResponse('the upstream stream ended before it was complete')
      failureKind = 'bad_response'
    }
    returned = false
  } catch (err) {
    returned = (err as Error)?.name === 'AbortError' && deadline.reason === undefined && !endedByGateway
    if (returned) {
      // the client went away
    } else if (endedByGateway) {
      failure = errors.gatewayShuttingDown()
      failureKind = 'client_closed'
    } else if (err instanceof SseTooLargeError) {
      failure = errors.upstreamTooLarge(`stream ${err.what}`, err.limit, 'UPSTREAM_MAX_EVENT_BYTES')
      failureKind = 'bad_response'
    } else if (err instanceof UpstreamError) failure = fromErrorInfo(err.info, [p.provider.settings.apiKey])
    else if (deadline.reason === 'first_byte_timeout' || deadline.reason === 'total_timeout') {
      failure = attemptFailure(err, deadline.reason).gatewayError
      failureKind = 'timeout'
    } else if (deadline.reason !== 'client_closed') {
      failure = errors.upstreamStreamInterrupted((err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? 'unknown error')
      failureKind = 'network'
    }
  } finally {
    const clientClosed = returned || (deadline.reason === 'client_closed' && !endedByGateway)
    deadline.abort('client_closed')
    host.closing.removeEventListener('abort', onClosing)
    void iterator.return?.()
    // Committed: the upstream read the prompt, so without its usage the request is charged what the gateway can count.
    let usage = sanitizeUsage(watcher.usage)
    let usageSource: UsageSource = 'upstream'
    if (!usage) {
      usage = estimatedUsage(estimatePromptTokens(job.body, deployment), tally.tokens())
      usageSource = 'estimate'
    }
    const costUsd = host.options.costOf?.(deployment, usage)
    const error = failure?.code ?? (clientClosed ? 'client_closed' : undefined)
    const failed = failure
      ? { failure: failureKind, fault: !endedByGateway && isDeploymentFault(failureKind, failure.statusCode, failure.code) }
      : clientClosed ? { failure: 'client_closed' as const, fault: false } : {}
    record(!failure && !clientClosed, 200, { ttftMs, usage, usageSource, totalMs: now() - p.started, error, clientClosed: clientClosed || endedByGateway, ...failed })
    job.report.outcome({
      deployment, fallbackModel: host.fallbackModel(), stream: true, ttftMs,
      status: failure ? failure.statusCode : clientClosed ? 499 : 200, attempts: host.attempts(), usage, usageSource, costUsd, error,
    })
  }
  if (body.gone) return
  try {
    if (failure && !relayedError) await body.write(watcher.errorEvent(failure))
    body.end()
  } catch {
    // The consumer went away while the end was written: everything is recorded already.
  }
}
