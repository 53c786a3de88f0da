// The proxy engine: sends one client request to the ordered deployments the
// router chose, one attempt at a time, and hands back what to answer with.
// It knows nothing of Fastify; observers receive every attempt and outcome.
import { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { ChatCompletionChunk, ChatCompletionRequest, EmbeddingsRequest, EmbeddingsResponse, Usage } from '../openai/types.js'
import type { DeploymentEntry, ModelEntry, ProviderEntry, RoutingTable } from '../routing/table.js'
import type { ErrorInfo, Operation, StreamTranslator, TranslateContext } from '../providers/types.js'
import { UpstreamError } from '../providers/types.js'
import { errors, GatewayError, fromErrorInfo } from '../errors.js'
import { SseParser, SSE_DONE } from '../sse.js'
import { applyEncodingFormat } from '../openai/embeddings.js'
import { ensureStreamUsage, rewriteModel } from './body.js'
import type { Pools } from './pools.js'
import { AttemptDeadline, mergeTimeouts, type Timeouts } from './timeouts.js'

export interface AttemptRecord {
  requestId: string
  deployment: DeploymentEntry
  operation: Operation
  stream: boolean
  ok: boolean
  /** Upstream HTTP status; 0 when no response arrived (connection error, timeout). */
  status: number
  totalMs: number
  ttftMs?: number
  usage?: Usage
  error?: string
  /** True when the client went away; not the deployment's fault. */
  clientClosed?: boolean
}

export interface CompletionRecord {
  requestId: string
  operation: Operation
  requestedModel: string
  deployment?: DeploymentEntry
  stream: boolean
  status: number
  attempts: number
  usage?: Usage
  costUsd?: number
  error?: string
  meta?: Record<string, unknown>
}

export interface ProxyObserver {
  onAttempt?(record: AttemptRecord): void
  onComplete?(record: CompletionRecord): void
}

export interface EngineOptions {
  pools: Pools
  observer?: ProxyObserver
  /** USD cost of a usage on a deployment, when its price is known. */
  costOf?: (deployment: DeploymentEntry, usage: Usage) => number | undefined
  /** Counts attempts in flight per deployment (for least-busy routing and caps). */
  inflight?: { acquire(deploymentId: string): () => void }
  /** Whether a failed attempt should move on to the next candidate. */
  shouldFallback?: (error: GatewayError, status: number) => boolean
}

export interface ProxyJob<B> {
  requestId: string
  /** Unix seconds of the request; `created` of synthesized responses. */
  created: number
  body: B
  /** The request body exactly as the client sent it. */
  raw: string
  stream: boolean
  /** The client asked for a usage chunk (stream_options.include_usage). */
  includeUsage: boolean
  model: ModelEntry
  /** Ordered attempt list: first is tried first. */
  candidates: DeploymentEntry[]
  table: RoutingTable
  /** Aborted when the client disconnects. */
  signal: AbortSignal
  meta?: Record<string, unknown>
}

export interface ProxyResponse {
  status: number
  headers: Record<string, string>
  body: Buffer | string | Readable
  deployment: DeploymentEntry
  attempts: number
  /** Time spent waiting on the upstream, for the overhead figure. */
  upstreamMs: number
  costUsd?: number
}

const JSON_HEADERS = { 'content-type': 'application/json' }
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' }

/** Statuses after which another deployment may well succeed. */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 409 || status === 429 || status >= 500
}

function defaultShouldFallback(_err: GatewayError, status: number): boolean {
  return isRetryableStatus(status)
}

const now = () => performance.now()

/** Raised inside an attempt; carries the upstream status (0 = no response). */
class AttemptError extends Error {
  constructor(readonly gatewayError: GatewayError, readonly status: number) {
    super(gatewayError.message)
  }
}

function headerRecord(headers: Dispatcher.ResponseData['headers']): Record<string, string | string[] | undefined> {
  return headers as Record<string, string | string[] | undefined>
}

async function readText(body: Dispatcher.ResponseData['body'], limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    if (size < limit) chunks.push(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit)
}

async function readBuffer(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

function errorEvent(err: GatewayError): string {
  return `data: ${JSON.stringify(err.toJSON())}\n\n`
}

export class ProxyEngine {
  private readonly shouldFallback: (error: GatewayError, status: number) => boolean

  constructor(private readonly options: EngineOptions) {
    this.shouldFallback = options.shouldFallback ?? defaultShouldFallback
  }

  chat(job: ProxyJob<ChatCompletionRequest>): Promise<ProxyResponse> {
    return this.run('chat', job)
  }

  embeddings(job: ProxyJob<EmbeddingsRequest>): Promise<ProxyResponse> {
    return this.run('embeddings', { ...job, stream: false, includeUsage: false })
  }

  private async run(op: Operation, job: ProxyJob<ChatCompletionRequest | EmbeddingsRequest>): Promise<ProxyResponse> {
    let lastError: GatewayError | undefined
    let attempts = 0
    let upstreamMs = 0
    for (const deployment of job.candidates) {
      if (job.signal.aborted) break
      const provider = job.table.providers.get(deployment.provider)
      attempts++
      if (!provider) {
        lastError = errors.providerUnconfigured(deployment.provider, 'it is not configured')
        continue
      }
      if (provider.missingKey) {
        lastError = errors.providerUnconfigured(deployment.provider, `its API key ${provider.missingKey} is not set`)
        this.options.observer?.onAttempt?.({
          requestId: job.requestId, deployment, operation: op, stream: job.stream, ok: false, status: 0, totalMs: 0, error: lastError.code ?? undefined,
        })
        continue
      }
      const started = now()
      try {
        const response = await this.attempt(op, job, deployment, provider)
        upstreamMs += response.upstreamMs
        return { ...response, attempts, upstreamMs }
      } catch (err) {
        upstreamMs += now() - started
        const { gatewayError, status } = err instanceof AttemptError ? err : { gatewayError: toGatewayError(err), status: 0 }
        lastError = gatewayError
        if (job.signal.aborted || !this.shouldFallback(gatewayError, status)) break
      }
    }
    const error = lastError ?? errors.noDeployment(job.model.name)
    this.options.observer?.onComplete?.({
      requestId: job.requestId, operation: op, requestedModel: job.model.name, stream: job.stream,
      status: job.signal.aborted ? 499 : error.statusCode, attempts, error: error.code ?? error.message, meta: job.meta,
    })
    ;(error as GatewayError & { attempts?: number }).attempts = attempts
    throw error
  }

  private timeoutsFor(job: ProxyJob<unknown>, provider: ProviderEntry): Timeouts {
    return mergeTimeouts(job.table.timeouts, provider.timeouts, job.model.timeouts)
  }

  private ctx(job: ProxyJob<unknown>, deployment: DeploymentEntry): TranslateContext {
    return { upstreamModel: deployment.upstreamModel, requestId: job.requestId, created: job.created }
  }

  private async attempt(
    op: Operation,
    job: ProxyJob<ChatCompletionRequest | EmbeddingsRequest>,
    deployment: DeploymentEntry,
    provider: ProviderEntry,
  ): Promise<Omit<ProxyResponse, 'attempts'>> {
    const adapter = provider.adapter
    if (adapter.local) return this.local(op, job, deployment)

    const timeouts = this.timeoutsFor(job, provider)
    const deadline = new AttemptDeadline(job.signal, job.stream ? timeouts.streamFirstByteMs : timeouts.firstByteMs, timeouts.totalMs)
    const started = now()
    const release = this.options.inflight?.acquire(deployment.id)
    // Called exactly once per attempt, when its outcome is known.
    const record = (ok: boolean, status: number, extra: Partial<AttemptRecord> = {}) => {
      release?.()
      this.options.observer?.onAttempt?.({
        requestId: job.requestId, deployment, operation: op, stream: job.stream, ok, status, totalMs: now() - started, ...extra,
      })
    }

    let upstream: Dispatcher.ResponseData
    let endpointUrl: URL
    let body: string
    try {
      let endpoint: ReturnType<typeof adapter.endpoint>
      try {
        endpoint = adapter.endpoint(op, provider.settings, deployment.upstreamModel, job.stream)
      } catch (err) {
        // The provider has no API for this operation (e.g. embeddings on Anthropic).
        throw new AttemptError(errors.invalidBody((err as Error).message), 400)
      }
      endpointUrl = new URL(endpoint.url)
      const translator = op === 'chat' ? adapter.chat : adapter.embeddings
      if (translator) {
        try {
          body = translator.request(job.body as never, this.ctx(job, deployment))
        } catch (err) {
          // The request cannot be expressed in this provider's API.
          throw new AttemptError(errors.invalidBody((err as Error).message), 400)
        }
      } else {
        body = rewriteModel(job.raw, deployment.upstreamModel, job.body as Record<string, unknown>)
        if (op === 'chat' && job.stream) body = ensureStreamUsage(body, job.body as Record<string, unknown>)
      }
      const pool = this.options.pools.get(endpointUrl.origin, { connections: provider.maxConnections, connectTimeoutMs: timeouts.connectMs })
      upstream = await pool.request({
        method: 'POST',
        path: endpointUrl.pathname + endpointUrl.search,
        headers: { ...endpoint.headers, 'content-type': 'application/json', accept: job.stream ? 'text/event-stream' : 'application/json' },
        body,
        signal: deadline.signal,
      })
    } catch (err) {
      deadline.dispose()
      const failure = this.attemptFailure(err, deadline.reason)
      record(false, 0, { error: failure.gatewayError.code ?? undefined, clientClosed: deadline.reason === 'client_closed' })
      throw failure
    }

    if (upstream.statusCode >= 300) {
      let text = ''
      try {
        text = await readText(upstream.body)
      } catch {
        // The error body is best effort; the status alone is enough.
      }
      deadline.dispose()
      const info = adapter.error(upstream.statusCode, text, headerRecord(upstream.headers))
      record(false, upstream.statusCode, { error: info.code ?? info.type })
      throw new AttemptError(fromErrorInfo(info), upstream.statusCode)
    }

    if (job.stream && op === 'chat') return this.relayStream(job as ProxyJob<ChatCompletionRequest>, deployment, provider, upstream, deadline, started, record)

    try {
      const buffer = await readBuffer(upstream.body)
      deadline.dispose()
      const upstreamMs = now() - started
      let parsed: { usage?: Usage } & Record<string, unknown>
      try {
        parsed = JSON.parse(buffer.toString('utf8'))
      } catch {
        throw new AttemptError(errors.upstreamBadResponse('the body is not valid JSON'), 502)
      }
      if (!parsed || typeof parsed !== 'object') throw new AttemptError(errors.upstreamBadResponse('the body is not a JSON object'), 502)
      let out: Buffer | string = buffer
      const translator = op === 'chat' ? adapter.chat : adapter.embeddings
      if (translator) {
        try {
          parsed = translator.response(parsed, this.ctx(job, deployment)) as unknown as typeof parsed
          if (op === 'embeddings') {
            parsed = applyEncodingFormat(parsed as unknown as EmbeddingsResponse, (job.body as EmbeddingsRequest).encoding_format) as unknown as typeof parsed
          }
        } catch (err) {
          throw new AttemptError(errors.upstreamBadResponse((err as Error).message), 502)
        }
        out = JSON.stringify(parsed)
      }
      const usage = parsed.usage as Usage | undefined
      record(true, upstream.statusCode, { usage })
      return this.finish(op, job, deployment, upstream.statusCode, out, usage, upstreamMs)
    } catch (err) {
      deadline.dispose()
      if (err instanceof AttemptError) {
        record(false, err.status, { error: err.gatewayError.code ?? undefined })
        throw err
      }
      const failure = this.attemptFailure(err, deadline.reason)
      record(false, 0, { error: failure.gatewayError.code ?? undefined, clientClosed: deadline.reason === 'client_closed' })
      throw failure
    }
  }

  private finish(
    op: Operation,
    job: ProxyJob<unknown>,
    deployment: DeploymentEntry,
    status: number,
    body: Buffer | string,
    usage: Usage | undefined,
    upstreamMs: number,
  ): Omit<ProxyResponse, 'attempts'> {
    const costUsd = usage ? this.options.costOf?.(deployment, usage) : undefined
    this.options.observer?.onComplete?.({
      requestId: job.requestId, operation: op, requestedModel: job.model.name, deployment, stream: false, status,
      attempts: 0, usage, costUsd, meta: job.meta,
    })
    const headers: Record<string, string> = { ...JSON_HEADERS }
    if (costUsd !== undefined) headers['x-switchyard-cost-usd'] = formatUsd(costUsd)
    return { status, headers, body, deployment, upstreamMs, costUsd }
  }

  private attemptFailure(err: unknown, reason: AttemptDeadline['reason']): AttemptError {
    if (err instanceof AttemptError) return err
    if (reason === 'first_byte_timeout') return new AttemptError(errors.upstreamTimeout('no response before the first-byte deadline'), 0)
    if (reason === 'total_timeout') return new AttemptError(errors.upstreamTimeout('the attempt exceeded its total deadline'), 0)
    if (reason === 'client_closed') return new AttemptError(errors.upstreamUnreachable('the client closed the request'), 0)
    const e = err as NodeJS.ErrnoException
    if (e?.code === 'UND_ERR_CONNECT_TIMEOUT') return new AttemptError(errors.upstreamTimeout('connect timeout'), 0)
    return new AttemptError(errors.upstreamUnreachable(e?.code ?? e?.message ?? 'unknown error'), 0)
  }

  /** The built-in mock: answered in-process. */
  private local(op: Operation, job: ProxyJob<ChatCompletionRequest | EmbeddingsRequest>, deployment: DeploymentEntry): Omit<ProxyResponse, 'attempts'> {
    const backend = job.table.providers.get(deployment.provider)!.adapter.local!
    const ctx = this.ctx(job, deployment)
    const started = now()
    if (op === 'embeddings') {
      const res = applyEncodingFormat(backend.embeddings(job.body as EmbeddingsRequest, ctx), (job.body as EmbeddingsRequest).encoding_format)
      const usage = { prompt_tokens: res.usage.prompt_tokens, completion_tokens: 0, total_tokens: res.usage.total_tokens }
      this.options.observer?.onAttempt?.({ requestId: job.requestId, deployment, operation: op, stream: false, ok: true, status: 200, totalMs: now() - started, usage })
      return this.finish(op, job, deployment, 200, JSON.stringify(res), usage, 0)
    }
    if (!job.stream) {
      const res = backend.chat(job.body as ChatCompletionRequest, ctx)
      this.options.observer?.onAttempt?.({ requestId: job.requestId, deployment, operation: op, stream: false, ok: true, status: 200, totalMs: now() - started, usage: res.usage })
      return this.finish(op, job, deployment, 200, JSON.stringify(res), res.usage, 0)
    }
    const chunks = backend.chatStream(job.body as ChatCompletionRequest, ctx)
    const usage = chunks[chunks.length - 1]?.usage ?? undefined
    this.options.observer?.onAttempt?.({ requestId: job.requestId, deployment, operation: op, stream: true, ok: true, status: 200, totalMs: now() - started, ttftMs: 0, usage })
    const costUsd = usage ? this.options.costOf?.(deployment, usage) : undefined
    const text = chunks
      .filter((c) => job.includeUsage || c.choices.length > 0)
      .map((c) => `data: ${JSON.stringify(c.usage && costUsd !== undefined ? withCost(c, costUsd) : c)}\n\n`)
      .join('')
    this.options.observer?.onComplete?.({
      requestId: job.requestId, operation: op, requestedModel: job.model.name, deployment, stream: true, status: 200, attempts: 0, usage, costUsd, meta: job.meta,
    })
    return { status: 200, headers: { ...SSE_HEADERS }, body: text + SSE_DONE, deployment, upstreamMs: 0, costUsd }
  }

  /**
   * Streams an upstream SSE response to the client. The first chunk is read
   * before the response is committed, so an upstream that fails before
   * sending anything still falls back to the next deployment.
   */
  private async relayStream(
    job: ProxyJob<ChatCompletionRequest>,
    deployment: DeploymentEntry,
    provider: ProviderEntry,
    upstream: Dispatcher.ResponseData,
    deadline: AttemptDeadline,
    started: number,
    record: (ok: boolean, status: number, extra?: Partial<AttemptRecord>) => void,
  ): Promise<Omit<ProxyResponse, 'attempts'>> {
    const iterator = (upstream.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
    let first: IteratorResult<Buffer>
    try {
      first = await iterator.next()
    } catch (err) {
      deadline.dispose()
      const failure = this.attemptFailure(err, deadline.reason)
      record(false, upstream.statusCode, { error: failure.gatewayError.code ?? undefined, clientClosed: deadline.reason === 'client_closed' })
      throw failure
    }
    if (first.done) {
      deadline.dispose()
      record(false, upstream.statusCode, { error: 'empty_stream' })
      throw new AttemptError(errors.upstreamBadResponse('the stream ended before any data'), 502)
    }
    deadline.firstByte()
    const ttftMs = now() - started
    const translator = provider.adapter.chat?.stream(this.ctx(job, deployment), job.body)
    const body = Readable.from(this.relay(job, deployment, first.value, iterator, translator, deadline, started, ttftMs, record), {
      objectMode: false,
      highWaterMark: 16 * 1024,
    })
    return { status: 200, headers: { ...SSE_HEADERS }, body, deployment, upstreamMs: ttftMs }
  }

  private async *relay(
    job: ProxyJob<ChatCompletionRequest>,
    deployment: DeploymentEntry,
    firstChunk: Buffer,
    iterator: AsyncIterator<Buffer>,
    translator: StreamTranslator | undefined,
    deadline: AttemptDeadline,
    started: number,
    ttftMs: number,
    record: (ok: boolean, status: number, extra?: Partial<AttemptRecord>) => void,
  ): AsyncGenerator<string> {
    const parser = new SseParser()
    let usage: Usage | undefined
    let usageChunk: ChatCompletionChunk | undefined
    let sawDone = false
    let costUsd: number | undefined
    let failure: GatewayError | undefined
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
      if (!complete && !failure) failure = errors.upstreamBadResponse('the upstream stream ended before it was complete')
      returned = false
    } catch (err) {
      returned = false
      if (err instanceof UpstreamError) failure = fromErrorInfo(err.info)
      else if (deadline.reason === 'first_byte_timeout' || deadline.reason === 'total_timeout') failure = this.attemptFailure(err, deadline.reason).gatewayError
      else if (deadline.reason !== 'client_closed') failure = errors.upstreamStreamInterrupted((err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? 'unknown error')
    } finally {
      // Runs on completion, on upstream failure and when the client goes away
      // (the Readable is destroyed and this generator returned): in every case
      // the upstream request is released and the outcome recorded.
      const clientClosed = returned || deadline.reason === 'client_closed'
      deadline.abort('client_closed')
      void iterator.return?.()
      costUsd = usage ? this.options.costOf?.(deployment, usage) : undefined
      const error = failure?.code ?? (clientClosed ? 'client_closed' : undefined)
      record(!failure && !clientClosed, 200, { ttftMs, usage, totalMs: now() - started, error, clientClosed })
      this.options.observer?.onComplete?.({
        requestId: job.requestId, operation: 'chat', requestedModel: job.model.name, deployment, stream: true,
        status: failure ? failure.statusCode : clientClosed ? 499 : 200, attempts: 0, usage, costUsd, error, meta: job.meta,
      })
    }
    // Reached only when the client is still there.
    if (unsent) yield unsent
    if (usageChunk && job.includeUsage) {
      yield `data: ${JSON.stringify(costUsd !== undefined ? withCost(usageChunk, costUsd) : usageChunk)}\n\n`
    }
    yield failure ? errorEvent(failure) : SSE_DONE
  }
}

function withCost(chunk: ChatCompletionChunk, costUsd: number): ChatCompletionChunk {
  return { ...chunk, switchyard: { cost_usd: Number(formatUsd(costUsd)) } }
}

export function formatUsd(value: number): string {
  return value.toFixed(10).replace(/0+$/, '').replace(/\.$/, '.0')
}

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err
  if (err instanceof UpstreamError) return fromErrorInfo(err.info as ErrorInfo)
  return errors.internal()
}
