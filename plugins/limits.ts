// Rate limits: requests per minute per gateway key (@fastify/rate-limit, in
// the /v1 scope), tokens per minute per key (the request's estimate reserved
// atomically at admission, settled to its actual usage after:
// lib/limits/token-reservations.ts), and per-deployment RPM/TPM caps that
// steer the router away from a deployment at its cap. Counters live in Redis
// when REDIS_URL is set (shared by every instance), else in memory.
//
// Defaults (YAML `limits`): rpm / tpm absent = unlimited; a key's own
// rpmLimit / tpmLimit wins over them; the master key has its own bucket.
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../lib/errors.js'
import { countEmbeddingInputTokens, countPromptTokens } from '../lib/cost/tokens.js'
import type { ProxyJob } from '../lib/proxy/engine.js'
import type { ChatCompletionRequest, EmbeddingsRequest } from '../lib/openai/types.js'
import type { DeploymentEntry } from '../lib/routing/table.js'
import { DeploymentCaps } from '../lib/limits/deployment-caps.js'
import { MemoryWindowCounter, RedisWindowCounter, type WindowCounter } from '../lib/limits/window-counter.js'
import { secondsToNextMinute } from '../lib/limits/periods.js'
import { reserveTokens, settleTokens, type TokenReservation } from '../lib/limits/token-reservations.js'
import {
  checkTokens,
  rateBucket,
  rateHeaders,
  requestLimitMessage,
  rpmLimitOf,
  tokenLimitMessage,
  tpmLimitOf,
  type RateDefaults,
} from '../lib/limits/rate.js'

export const DEFAULT_REDIS_KEY_PREFIX = 'switchyard:'
export const RPM_WINDOW_MS = 60_000

/** What the admission checks know of a request before it is sent. */
export interface RequestEstimate {
  /** The deployment tried first. */
  deployment: DeploymentEntry
  /** Estimated prompt tokens on that deployment (counted on first use). */
  promptTokens(): number
  /** max_completion_tokens / max_tokens when the request sets one (0 for embeddings). */
  maxOutputTokens: number | undefined
  chat: boolean
}

export type AdmissionCheck = (request: FastifyRequest, reply: FastifyReply, job: ProxyJob<unknown>, estimate: RequestEstimate) => Promise<void>

declare module 'fastify' {
  interface FastifyInstance {
    limits: {
      defaults: RateDefaults
      redisKeyPrefix: string
      tokens: WindowCounter
      caps: DeploymentCaps
      /** Further checks run by admit(), in order (budgets add theirs). */
      checks: AdmissionCheck[]
      /** Runs between planning and sending: TPM pre-check, then `checks`; throws an OpenAI-shaped error to refuse. */
      admit(request: FastifyRequest, reply: FastifyReply, job: ProxyJob<unknown>): Promise<void>
      /** Waits for the counter updates started so far (tests, shutdown). */
      idle(): Promise<void>
    }
  }
  interface FastifyRequest {
    /** Tokens this request reserved against its key's TPM limit, until settled. */
    tpmReservation: TokenReservation | null
  }
}

function estimateOf(job: ProxyJob<unknown>): RequestEstimate {
  const deployment = job.candidates[0]!
  const body = job.body as Partial<ChatCompletionRequest> & Partial<EmbeddingsRequest>
  const chat = Array.isArray(body.messages)
  let prompt: number | undefined
  const maxOut = body.max_completion_tokens ?? body.max_tokens
  return {
    deployment,
    chat,
    maxOutputTokens: chat ? (typeof maxOut === 'number' ? maxOut : undefined) : 0,
    promptTokens: () =>
      (prompt ??= chat
        ? countPromptTokens(body as ChatCompletionRequest, deployment.providerType, deployment.upstreamModel).tokens
        : countEmbeddingInputTokens(body.input as EmbeddingsRequest['input'], deployment.upstreamModel, deployment.providerType).tokens),
  }
}

export default fp(
  async (app) => {
    const cfg = app.config.gateway.limits ?? {}
    const defaults: RateDefaults = { rpm: cfg.rpm, tpm: cfg.tpm }
    const prefix = cfg.redisKeyPrefix ?? DEFAULT_REDIS_KEY_PREFIX
    const counter: WindowCounter = app.redis ? new RedisWindowCounter(app.redis, `${prefix}win:`) : new MemoryWindowCounter()
    const caps = new DeploymentCaps(counter)
    const pending = new Set<Promise<unknown>>()
    const track = (p: Promise<unknown>) => {
      const q = p.catch((err) => app.log.warn({ err }, 'rate counter update failed')).finally(() => pending.delete(q))
      pending.add(q)
    }
    // The first deployment of an admitted request is counted before it is
    // sent (so concurrent requests see it); its attempt is then not counted again.
    const claimed = new Map<string, string>()

    app.strategy.availability.push((d) => caps.unavailable(d))

    app.proxyObservers.push({
      onAttempt(r) {
        if (claimed.get(r.requestId) === r.deployment.id) claimed.delete(r.requestId)
        else if (r.error !== 'provider_not_configured') track(caps.countRequest(r.deployment))
        const tokens = (r.usage?.prompt_tokens ?? 0) + (r.usage?.completion_tokens ?? 0)
        if (tokens > 0) track(caps.countTokens(r.deployment, tokens))
      },
    })

    // TPM reservations not settled yet.
    const open = new Set<TokenReservation>()
    app.decorateRequest('tpmReservation', null)
    // Settle: the outcome's tokens (upstream usage, or the gateway's estimate
    // when none arrived) replace the estimate reserved at admission.
    app.usage.listeners.push((record) => {
      claimed.delete(record.requestId)
      const reservation = record.meta?.tpmReservation as TokenReservation | undefined
      if (!reservation || !open.delete(reservation)) return
      const u = record.usage
      const tokens = u ? (u.total_tokens ?? (u.prompt_tokens ?? 0) + (u.completion_tokens ?? 0)) : 0
      track(settleTokens(counter, reservation, tokens, Date.now()))
    })
    // Refused after reserving (a budget), or gone before any outcome: nothing was used.
    app.addHook('onResponse', async (request) => {
      const reservation = request.tpmReservation
      if (reservation && open.delete(reservation)) track(settleTokens(counter, reservation, 0, Date.now()))
    })

    const checks: AdmissionCheck[] = []
    app.decorate('limits', {
      defaults,
      redisKeyPrefix: prefix,
      tokens: counter,
      caps,
      checks,
      async idle() {
        while (pending.size > 0) await Promise.all([...pending])
      },
      async admit(request: FastifyRequest, reply: FastifyReply, job: ProxyJob<unknown>) {
        const identity = request.identity
        if (!identity || job.candidates.length === 0) return
        const estimate = estimateOf(job)
        job.meta ??= {}
        const tpm = tpmLimitOf(identity, defaults)
        if (tpm !== undefined) {
          const now = Date.now()
          const bucket = rateBucket(identity)
          const wanted = estimate.promptTokens() + (estimate.maxOutputTokens ?? 0)
          // Check and add in one step: concurrent requests see each other's estimates.
          const r = await reserveTokens(counter, `tpm:${bucket}`, wanted, tpm, now)
          const reset = secondsToNextMinute(now)
          if (!r.ok) {
            const c = checkTokens(tpm, r.total, wanted)
            throw errors.rateLimited(tokenLimitMessage(c), { ...rateHeaders('tokens', tpm, c.remaining, reset), 'retry-after': String(reset) })
          }
          // What is left once this request's estimate is counted.
          reply.headers(rateHeaders('tokens', tpm, tpm - r.total, reset))
          open.add(r.reservation)
          request.tpmReservation = r.reservation
          job.meta.tpmBucket = bucket
          job.meta.tpmReservation = r.reservation
        }
        for (const check of checks) await check(request, reply, job, estimate)
        const first = estimate.deployment
        if (first.rpm !== undefined || first.tpm !== undefined) {
          claimed.set(job.requestId, first.id)
          track(caps.countRequest(first))
        }
      },
    })
  },
  { name: 'limits', dependencies: ['config', 'redis', 'strategy', 'usage', 'proxy'] },
)

/**
 * Registers the per-key RPM limiter in the /v1 scope. Call it after the
 * auth hook is added: the limiter keys by `request.identity`, never by IP.
 */
export async function registerV1Limits(app: FastifyInstance): Promise<void> {
  const { defaults, redisKeyPrefix, caps } = app.limits
  await app.register(rateLimit, {
    global: false,
    timeWindow: RPM_WINDOW_MS,
    keyGenerator: (request) => rateBucket(request.identity!),
    max: (request) => rpmLimitOf(request.identity!, defaults) ?? Number.MAX_SAFE_INTEGER,
    // Requests of keys without a limit never touch the store.
    allowList: (request) => !request.identity || rpmLimitOf(request.identity, defaults) === undefined,
    // A Redis outage lets requests through rather than failing them all.
    skipOnError: true,
    ...(app.redis ? { redis: app.redis, nameSpace: `${redisKeyPrefix}rpm:` } : {}),
  })
  const limiter = app.createRateLimit()
  app.addHook('onRequest', async (request, reply) => {
    // Keys without a limit skip the limiter entirely (the common case).
    if (!request.identity || rpmLimitOf(request.identity, defaults) === undefined) return
    const result = await limiter(request)
    if (result.isAllowed) return
    const headers = rateHeaders('requests', result.max, result.remaining, result.ttlInSeconds)
    if (result.isExceeded) {
      throw errors.rateLimited(requestLimitMessage(result.max), { ...headers, 'retry-after': String(Math.max(1, result.ttlInSeconds)) })
    }
    reply.headers(headers)
  })
  // With shared counters, read the current totals of the requested model's
  // capped deployments before the router's (synchronous) availability check.
  if (app.redis) {
    app.addHook('preHandler', async (request) => {
      const model = (request.body as { model?: unknown } | undefined)?.model
      if (typeof model !== 'string') return
      const deployments = app.modelRouting.table.resolve(model)?.model.deployments
      if (deployments) await caps.refresh(deployments).catch((err) => request.log.warn({ err }, 'deployment cap refresh failed'))
    })
  }
}
