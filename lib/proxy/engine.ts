// The proxy engine: the pipeline's attempts stage. Sends one request to the
// ordered deployments the plan chose, one attempt at a time (gates, retries,
// fallback models), and hands back what to answer with. It knows nothing of
// Fastify; it reports every attempt and the request's one outcome to the job.
import type { Readable } from 'node:stream'
import { attemptFailure, AttemptError, formatUsd, inBandError, toGatewayError, withCost } from './failures.js'
import { failUpstreamStatus, openEventStream, readBuffer } from './read.js'
import { relayStream, type RelayParams } from './stream-relay.js'
import { RelayBody } from './relay-body.js'
import { upstreamTarget, type UpstreamTarget } from './pools.js'
import { goesNative, nativeAttempt } from './native-relay.js'
import { CompletionTally, estimatedUsage, estimatePromptTokens, sanitizeUsage, textTokenCounter, type UsageSource } from './usage.js'
import type {
  AttemptGate,
  AttemptRecord,
  EngineOptions,
  FallbackPlan,
  ProxyJob,
  ProxyResponse,
} from './types.js'

import type { Dispatcher } from 'undici'
import type { ChatCompletionRequest, EmbeddingsRequest, EmbeddingsResponse, Usage } from '../openai/types.js'
import type { DeploymentEntry, ModelEntry, ProviderEntry } from '../routing/table.js'
import type { Operation, TranslateContext } from '../providers/types.js'
import { UpstreamError } from '../providers/types.js'
import { errors, GatewayError, fromErrorInfo } from '../errors.js'
import { SseParser, SSE_DONE } from '../sse.js'
import { applyEncodingFormat } from '../openai/embeddings.js'
import { ensureStreamUsage, rewriteModel } from './body.js'
import { AttemptDeadline, mergeTimeouts, type Timeouts } from './timeouts.js'
import { mergeRetryPolicy, retryWait, sleep } from '../resilience/backoff.js'
import { classifyFailure, type FailureAction } from '../resilience/classify.js'

export type * from './types.js'
export { formatUsd, toGatewayError } from './failures.js'

const JSON_HEADERS = { 'content-type': 'application/json' }
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' }

const now = () => performance.now()

const CHAINED = ['provider', 'deployment', 'model', 'attempts', 'cost-usd'] as const

/**
 * When the upstream is itself a Switchyard (one gateway chained behind
 * another), its routing headers are passed on as x-switchyard-upstream-*:
 * the outer gateway's own headers name the inner gateway as the deployment.
 */
function chainedRouting(from: Dispatcher.ResponseData['headers'], to: Record<string, string>): void {
  if (from['x-switchyard-deployment'] === undefined) return
  for (const name of CHAINED) {
    const v = from[`x-switchyard-${name}`]
    if (typeof v === 'string' && /^[\x20-\x7E]{0,256}$/.test(v)) to[`x-switchyard-upstream-${name}`] = v
  }
}

/** The fallback model that is being tried, if it is not the requested one. */
const fallbackOf = (job: ProxyJob<unknown>, state: RunState | undefined): string | undefined =>
  state?.model && state.model !== job.model ? state.model.name : undefined

/** Where a model's attempts left off. */
type ModelOutcome = { kind: 'ok'; response: ProxyResponse } | { kind: Exclude<FailureAction, 'retry'> }

interface RunState {
  attempts: number
  upstreamMs: number
  lastError?: GatewayError
  /** The deployment of the last attempt made, for the failure record. */
  lastDeployment?: DeploymentEntry
  /** The model being tried: the requested one, or a fallback. */
  model?: ModelEntry
  /** Epoch ms when the first deployment skipped for cooling down reopens. */
  coolingUntil?: number
}

export class ProxyEngine {
  private readonly gate: AttemptGate | undefined
  /** Each running job's state, so a record made inside an attempt carries the request's attempt count. */
  private readonly runs = new WeakMap<object, RunState>()
  private readonly random: () => number
  /** Aborted by endStreams(): streams still open are ended and recorded. */
  private readonly closing = new AbortController()
  /** Stream bodies handed out and not closed yet. */
  private readonly openStreams = new Set<Readable>()

  constructor(private readonly options: EngineOptions) {
    this.gate = options.gate
    this.random = options.random ?? Math.random
  }

  /** Streams relaying right now. */
  get streamsOpen(): number {
    return this.openStreams.size
  }

  /**
   * Ends every open stream (shutdown, once the grace period is over): the
   * upstream is aborted, the client gets an SSE error event, and the outcome
   * is recorded with what was relayed so far. A stream whose client does not
   * read within `waitMs` is destroyed (still recorded). Resolves with the
   * number of streams that were open.
   */
  async endStreams(waitMs = 2_000): Promise<number> {
    this.closing.abort()
    const open = [...this.openStreams]
    if (open.length === 0) return 0
    const closed = (b: Readable) => (b.closed ? Promise.resolve() : new Promise<void>((r) => b.once('close', () => r())))
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(open.map(closed)), new Promise<void>((r) => (timer = setTimeout(r, waitMs)))])
    clearTimeout(timer)
    for (const b of this.openStreams) b.destroy()
    return open.length
  }

  chat(job: ProxyJob<ChatCompletionRequest>): Promise<ProxyResponse> {
    return this.run('chat', job)
  }

  embeddings(job: ProxyJob<EmbeddingsRequest>): Promise<ProxyResponse> {
    return this.run('embeddings', { ...job, stream: false, includeUsage: false })
  }

  /**
   * The requested model's candidates in order, each retried with backoff on
   * transient failures; then each of the model's `fallbacks`; and, when an
   * upstream says the prompt is too long, its `contextWindowFallbacks`.
   */
  private async run(op: Operation, job: ProxyJob<ChatCompletionRequest | EmbeddingsRequest>): Promise<ProxyResponse> {
    const state: RunState = { attempts: 0, upstreamMs: 0, coolingUntil: job.coolingUntil }
    this.runs.set(job, state)
    const tried = new Set([job.model.name])
    let outcome = await this.tryModel(op, job, job.model, job.candidates, state)
    if (outcome.kind === 'next') {
      for (const name of job.model.fallbacks) {
        const plan = this.fallbackPlan(job, name, tried, state)
        if (!plan) continue
        outcome = await this.tryModel(op, job, plan.model, plan.candidates, state)
        if (outcome.kind !== 'next') break
      }
    }
    if (outcome.kind === 'context_window') {
      for (const name of job.model.contextWindowFallbacks) {
        const plan = this.fallbackPlan(job, name, tried, state)
        if (!plan) continue
        outcome = await this.tryModel(op, job, plan.model, plan.candidates, state)
        if (outcome.kind === 'ok' || outcome.kind === 'stop') break
      }
    }
    if (outcome.kind === 'ok') return outcome.response

    const error =
      state.lastError ??
      (state.coolingUntil !== undefined && Number.isFinite(state.coolingUntil)
        ? errors.allDeploymentsCoolingDown(job.model.name, (state.coolingUntil - Date.now()) / 1000)
        : errors.noDeployment(job.model.name))
    const attempts = state.attempts
    job.report.outcome({
      deployment: state.lastDeployment, fallbackModel: fallbackOf(job, state), stream: job.stream,
      status: job.signal?.aborted ? 499 : error.statusCode, attempts, usageSource: 'none', error: error.code ?? error.message,
    })
    ;(error as GatewayError & { attempts?: number }).attempts = attempts
    throw error
  }

  /** The plan of a fallback model not tried yet; undefined when it cannot be used. */
  private fallbackPlan(job: ProxyJob<unknown>, name: string, tried: Set<string>, state: RunState): FallbackPlan | undefined {
    if (!job.planFallback || tried.has(name) || job.signal?.aborted) return undefined
    tried.add(name)
    let plan: FallbackPlan | undefined
    try {
      plan = job.planFallback(name)
    } catch {
      return undefined
    }
    if (!plan) return undefined
    if (plan.model.name !== name) {
      // A routing rule sent it to another model: still only once.
      if (tried.has(plan.model.name)) return undefined
      tried.add(plan.model.name)
    }
    if (plan.coolingUntil !== undefined) state.coolingUntil = Math.min(state.coolingUntil ?? Infinity, plan.coolingUntil)
    return plan
  }

  /** One model's candidates, each with its retries. */
  private async tryModel(
    op: Operation,
    job: ProxyJob<ChatCompletionRequest | EmbeddingsRequest>,
    model: ModelEntry,
    candidates: DeploymentEntry[],
    state: RunState,
  ): Promise<ModelOutcome> {
    const policy = mergeRetryPolicy(job.table.retries, model.retries)
    const fallbackModel = model === job.model ? undefined : model.name
    state.model = model
    for (const deployment of candidates) {
      for (let retry = 0; ; retry++) {
        if (job.signal?.aborted) return { kind: 'stop' }
        const provider = job.table.providers.get(deployment.provider)
        if (!provider) {
          state.attempts++
          state.lastError = errors.providerUnconfigured(deployment.provider, 'it is not configured')
          break
        }
        if (provider.missingKey) {
          state.attempts++
          state.lastError = errors.providerUnconfigured(deployment.provider, 'its API key is not configured')
          job.report.attempt({
            requestId: job.requestId, deployment, operation: op, stream: job.stream, ok: false, status: 0, totalMs: 0,
            error: state.lastError.code ?? undefined, failure: 'unconfigured', fault: false,
          })
          break
        }
        // The circuit may have opened since the plan was made (or during this request's retries).
        const admission = this.gate?.admit(deployment) ?? { ok: true as const }
        if (!admission.ok) {
          if (admission.retryAt !== undefined) state.coolingUntil = Math.min(state.coolingUntil ?? Infinity, admission.retryAt)
          // No upstream call: reported so that refusals can be counted, never as a sample.
          job.report.attempt({ requestId: job.requestId, deployment, operation: op, stream: job.stream, ok: false, status: 0, totalMs: 0, refused: admission.reason, fault: false })
          break
        }
        state.attempts++
        state.lastDeployment = deployment
        const started = now()
        try {
          const response = await this.attempt(op, job, model, deployment, provider, { probe: admission.probe === true, retry })
          state.upstreamMs += response.upstreamMs
          // The attempt's answer is its own fresh object: completed in place rather than copied (0.7 % of the request thread).
          const answer = response as ProxyResponse
          answer.attempts = state.attempts
          answer.upstreamMs = state.upstreamMs
          answer.fallbackModel = fallbackModel
          return { kind: 'ok', response: answer }
        } catch (err) {
          state.upstreamMs += now() - started
          // Anything unexpected is the gateway's problem, not the deployment's: no retry, next candidate.
          const failure = err instanceof AttemptError ? err : new AttemptError(toGatewayError(err), 0, 'unsupported')
          state.lastError = failure.gatewayError
          if (job.signal?.aborted) return { kind: 'stop' }
          const action = this.decide(failure)
          if (action === 'stop' || action === 'context_window') return { kind: action }
          if (action === 'next' || retry >= policy.attempts) break
          const wait = retryWait(retry, policy, failure.retryAfterMs, this.random)
          // The upstream asked for a longer pause than we wait for: try elsewhere now.
          if (!wait.wait) break
          const waitStarted = now()
          const waited = await sleep(wait.delayMs, job.signal)
          state.upstreamMs += now() - waitStarted
          if (!waited) return { kind: 'stop' }
        }
      }
    }
    return { kind: 'next' }
  }

  private decide(failure: AttemptError): FailureAction {
    return classifyFailure({ kind: failure.kind, status: failure.status, error: failure.gatewayError })
  }

  private timeoutsFor(job: ProxyJob<unknown>, model: ModelEntry, provider: ProviderEntry): Timeouts {
    return mergeTimeouts(job.table.timeouts, provider.timeouts, model.timeouts)
  }

  private ctx(job: ProxyJob<unknown>, deployment: DeploymentEntry): TranslateContext {
    return { upstreamModel: deployment.upstreamModel, requestId: job.requestId, created: job.created }
  }

  private async attempt(
    op: Operation,
    job: ProxyJob<ChatCompletionRequest | EmbeddingsRequest>,
    model: ModelEntry,
    deployment: DeploymentEntry,
    provider: ProviderEntry,
    info: { probe: boolean; retry: number },
  ): Promise<Omit<ProxyResponse, 'attempts'>> {
    const adapter = provider.adapter
    // A front door's own API, for the deployments that speak it (lib/proxy/native-relay.ts).
    if (job.native && (goesNative(job, provider) || job.native.untranslatable)) {
      return nativeAttempt({
        options: this.options, timeouts: this.timeoutsFor(job, model, provider), closing: this.closing.signal,
        attempts: () => this.runs.get(job)?.attempts ?? 1, fallbackModel: () => fallbackOf(job, this.runs.get(job)),
        finish: (status, body, usage, upstreamMs, source) => this.finish(op, job, deployment, status, body, usage, upstreamMs, source),
        track: (body) => {
          this.openStreams.add(body)
          body.once('close', () => this.openStreams.delete(body))
        },
      }, job as ProxyJob<ChatCompletionRequest> & { native: NonNullable<ProxyJob<unknown>['native']> }, deployment, provider, info)
    }
    if (adapter.local) return this.local(op, job, deployment, info)

    const timeouts = this.timeoutsFor(job, model, provider)
    const deadline = new AttemptDeadline(job.signal, job.stream ? timeouts.streamFirstByteMs : timeouts.firstByteMs, timeouts.totalMs)
    const started = now()
    const release = this.options.inflight?.acquire(deployment.id)
    // Called exactly once per attempt, when its outcome is known.
    const record = (ok: boolean, status: number, extra: Partial<AttemptRecord> = {}) => {
      release?.()
      job.report.attempt({
        requestId: job.requestId, deployment, operation: op, stream: job.stream, ok, status, totalMs: now() - started,
        probe: info.probe || undefined, retry: info.retry, ...extra,
      })
    }

    let upstream: Dispatcher.ResponseData
    let target: UpstreamTarget
    let body: string
    try {
      let endpoint: ReturnType<typeof adapter.endpoint>
      try {
        endpoint = adapter.endpoint(op, provider.settings, deployment.upstreamModel, job.stream)
      } catch (err) {
        // The provider has no API for this operation (e.g. embeddings on Anthropic).
        throw new AttemptError(errors.invalidBody((err as Error).message), 400, 'unsupported')
      }
      target = upstreamTarget(endpoint.url)
      const translator = op === 'chat' ? adapter.chat : adapter.embeddings
      if (translator) {
        try {
          body = translator.request(job.body as never, this.ctx(job, deployment))
        } catch (err) {
          // The request cannot be expressed in this provider's API.
          throw new AttemptError(errors.invalidBody((err as Error).message), 400, 'unsupported')
        }
      } else {
        body = rewriteModel(job.raw, deployment.upstreamModel, job.body as Record<string, unknown>)
        if (op === 'chat' && job.stream) body = ensureStreamUsage(body, job.body as Record<string, unknown>)
      }
      const pool = this.options.pools.get(target.origin, { connections: provider.maxConnections, connectTimeoutMs: timeouts.connectMs, guarded: provider.source !== 'yaml' })
      upstream = await pool.request({
        method: 'POST',
        path: target.path,
        headers: { ...job.upstreamHeaders, ...endpoint.headers, 'content-type': 'application/json', accept: job.stream ? 'text/event-stream' : 'application/json' },
        body,
        signal: deadline.signal,
      })
    } catch (err) {
      deadline.dispose()
      const failure = attemptFailure(err, deadline.reason)
      record(false, 0, failure.recordExtra)
      throw failure
    }

    if (upstream.statusCode >= 300) await failUpstreamStatus(upstream, adapter, [provider.settings.apiKey], deadline, record)

    if (job.stream && op === 'chat') return this.relayStream(job as ProxyJob<ChatCompletionRequest>, deployment, provider, upstream, deadline, started, record)

    try {
      const buffer = await readBuffer(upstream.body, this.options.maxBodyBytes, upstream.headers)
      deadline.dispose()
      const upstreamMs = now() - started
      let parsed: { usage?: Usage } & Record<string, unknown>
      try {
        parsed = JSON.parse(buffer.toString('utf8'))
      } catch {
        throw new AttemptError(errors.upstreamBadResponse('the body is not valid JSON'), 502, 'bad_response')
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new AttemptError(errors.upstreamBadResponse('the body is not a JSON object'), 502, 'bad_response')
      let out: Buffer | string = buffer
      const translator = op === 'chat' ? adapter.chat : adapter.embeddings
      if (translator) {
        try {
          parsed = translator.response(parsed, this.ctx(job, deployment)) as unknown as typeof parsed
          if (op === 'embeddings') {
            parsed = applyEncodingFormat(parsed as unknown as EmbeddingsResponse, (job.body as EmbeddingsRequest).encoding_format) as unknown as typeof parsed
          }
        } catch (err) {
          throw new AttemptError(errors.upstreamBadResponse((err as Error).message), 502, 'bad_response')
        }
        out = JSON.stringify(parsed)
      }
      // Upstream figures made safe for integer columns; none at all: the gateway's count.
      let usage = sanitizeUsage(parsed.usage)
      let usageSource: UsageSource = 'upstream'
      if (!usage) {
        const tally = new CompletionTally(textTokenCounter(deployment))
        if (op === 'chat') tally.addCompletion(parsed)
        usage = estimatedUsage(estimatePromptTokens(job.body, deployment), tally.tokens())
        usageSource = 'estimate'
      }
      record(true, upstream.statusCode, { usage, usageSource, finishReasons: op === 'chat' ? finishReasonsOf(parsed) : undefined })
      const response = this.finish(op, job, deployment, upstream.statusCode, out, usage, upstreamMs, usageSource)
      chainedRouting(upstream.headers, response.headers)
      return response
    } catch (err) {
      deadline.dispose()
      if (err instanceof AttemptError) {
        record(false, err.status, err.recordExtra)
        throw err
      }
      const failure = attemptFailure(err, deadline.reason)
      record(false, 0, failure.recordExtra)
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
    usageSource: UsageSource = 'upstream',
  ): Omit<ProxyResponse, 'attempts'> {
    const costUsd = usage ? this.options.costOf?.(deployment, usage) : undefined
    const state = this.runs.get(job)
    job.report.outcome({
      deployment, fallbackModel: fallbackOf(job, state), stream: false, status,
      attempts: state?.attempts ?? 1, usage, usageSource: usage ? usageSource : 'none', costUsd,
    })
    const headers: Record<string, string> = { ...JSON_HEADERS }
    if (costUsd !== undefined) headers['x-switchyard-cost-usd'] = formatUsd(costUsd)
    if (usage) headers['x-switchyard-usage-source'] = usageSource
    return { status, headers, body, deployment, upstreamMs, costUsd }
  }


  /** The built-in mock: answered in-process. */
  private local(
    op: Operation,
    job: ProxyJob<ChatCompletionRequest | EmbeddingsRequest>,
    deployment: DeploymentEntry,
    info: { probe: boolean; retry: number },
  ): Omit<ProxyResponse, 'attempts'> {
    const tags = { probe: info.probe || undefined, retry: info.retry }
    const backend = job.table.providers.get(deployment.provider)!.adapter.local!
    const ctx = this.ctx(job, deployment)
    const started = now()
    if (op === 'embeddings') {
      const res = applyEncodingFormat(backend.embeddings(job.body as EmbeddingsRequest, ctx), (job.body as EmbeddingsRequest).encoding_format)
      const usage = { prompt_tokens: res.usage.prompt_tokens, completion_tokens: 0, total_tokens: res.usage.total_tokens }
      job.report.attempt({ requestId: job.requestId, deployment, operation: op, stream: false, ok: true, status: 200, totalMs: now() - started, usage, ...tags })
      return this.finish(op, job, deployment, 200, JSON.stringify(res), usage, 0)
    }
    if (!job.stream) {
      const res = backend.chat(job.body as ChatCompletionRequest, ctx)
      job.report.attempt({ requestId: job.requestId, deployment, operation: op, stream: false, ok: true, status: 200, totalMs: now() - started, usage: res.usage, ...tags })
      return this.finish(op, job, deployment, 200, JSON.stringify(res), res.usage, 0)
    }
    const chunks = backend.chatStream(job.body as ChatCompletionRequest, ctx)
    const usage = chunks[chunks.length - 1]?.usage ?? undefined
    job.report.attempt({ requestId: job.requestId, deployment, operation: op, stream: true, ok: true, status: 200, totalMs: now() - started, ttftMs: 0, usage, ...tags })
    const costUsd = usage ? this.options.costOf?.(deployment, usage) : undefined
    const text = chunks
      .filter((c) => job.includeUsage || c.choices.length > 0)
      .map((c) => `data: ${JSON.stringify(c.usage && costUsd !== undefined ? withCost(c, costUsd) : c)}\n\n`)
      .join('')
    const state = this.runs.get(job)
    job.report.outcome({
      deployment, fallbackModel: fallbackOf(job, state), stream: true, status: 200, attempts: state?.attempts ?? 1, usage,
      usageSource: usage ? 'upstream' : 'none', costUsd, ttftMs: 0,
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
    const { iterator, first } = await openEventStream(upstream, deadline, this.options.maxEventBytes, record)
    // Nothing has reached the client yet: a stream that opens with an error
    // event is a failed attempt like any other (retried, or the next candidate).
    const leading = this.leadingStreamError(job, deployment, provider, first)
    if (leading) {
      deadline.dispose()
      void iterator.return?.()
      record(false, upstream.statusCode, leading.recordExtra)
      throw leading
    }
    deadline.firstByte()
    const ttftMs = now() - started
    const translator = provider.adapter.chat?.stream(this.ctx(job, deployment), job.body)
    const params: RelayParams = {
      job, deployment, firstChunk: first, iterator, translator, deadline, started, ttftMs, record,
      costOf: this.options.costOf,
      attempts: () => this.runs.get(job)?.attempts ?? 1,
      fallbackModel: () => fallbackOf(job, this.runs.get(job)),
      estimatePromptTokens: () => estimatePromptTokens(job.body, deployment),
      countText: textTokenCounter(deployment),
      closing: this.closing.signal,
      maxEventBytes: this.options.maxEventBytes,
    }
    const body = new RelayBody((b) => relayStream(params, b), () => deadline.abort('client_closed'))
    this.openStreams.add(body)
    body.once('close', () => this.openStreams.delete(body))
    const headers: Record<string, string> = { ...SSE_HEADERS }
    chainedRouting(upstream.headers, headers)
    return { status: 200, headers, body, deployment, upstreamMs: ttftMs }
  }

  /** The error the first SSE event of a stream reports, if it is one. */
  private leadingStreamError(job: ProxyJob<ChatCompletionRequest>, deployment: DeploymentEntry, provider: ProviderEntry, chunk: Buffer): AttemptError | undefined {
    const [event] = new SseParser().push(chunk)
    if (!event) return undefined
    // A throwaway translator: the relay's own one starts from the first event again.
    const translator = provider.adapter.chat?.stream(this.ctx(job, deployment), job.body)
    if (translator) {
      try {
        translator.push(event)
      } catch (err) {
        if (err instanceof UpstreamError) {
          const info = err.info
          return new AttemptError(fromErrorInfo(info, [provider.settings.apiKey]), info.status, 'http', info.retryAfterSec !== undefined ? info.retryAfterSec * 1000 : undefined)
        }
      }
      return undefined
    }
    const err = inBandError(event.data, [provider.settings.apiKey])
    return err ? new AttemptError(err, 502, 'http') : undefined
  }
}

/** The finish reasons of a chat answer's choices, for the attempt's record. */
function finishReasonsOf(answer: unknown): string[] | undefined {
  const choices = (answer as { choices?: unknown }).choices
  if (!Array.isArray(choices)) return undefined
  const reasons = new Set<string>()
  for (const c of choices) {
    const r = (c as { finish_reason?: unknown } | null)?.finish_reason
    if (typeof r === 'string' && r.length > 0) reasons.add(r)
  }
  return reasons.size > 0 ? [...reasons] : undefined
}
