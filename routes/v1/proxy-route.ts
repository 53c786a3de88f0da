// Shared by the /v1 routes that take a model: resolve it and check the key's
// permission (planRequestedModel), rank its deployments, run the proxy, and
// answer with the routing headers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../../lib/errors.js'
import { modelAllowed } from '../../lib/keys/keys.js'
import { globMatch } from '../../lib/routing/glob.js'
import type { ProxyJob, ProxyResponse } from '../../lib/proxy/engine.js'
import { RoutingPlanner, type RoutingPlan } from '../../lib/routing/planner.js'
import { coolingRetryAfterMs } from '../../lib/resilience/circuit.js'
import type { ChatCompletionRequest, EmbeddingsRequest } from '../../lib/openai/types.js'

type Body = ChatCompletionRequest | EmbeddingsRequest

/** Whether the request's key may use a model (by its public name). */
export function keyMayUse(request: FastifyRequest, model: string): boolean {
  return modelAllowed(request.identity!, model, globMatch)
}

/**
 * The model check every /v1 route that takes a model makes, in one place:
 * resolve the name (404), check the key may use it (403), plan it, and check
 * again when a routing rule moved the request to another model (403: a rule
 * routes, it does not grant access).
 */
export function planRequestedModel(app: FastifyInstance, request: FastifyRequest, requested: string, stream: boolean): RoutingPlan {
  const resolution = app.modelRouting.table.resolve(requested)
  if (!resolution) throw errors.modelNotFound(requested)
  if (!keyMayUse(request, resolution.model.name)) throw errors.modelNotAllowed(requested)
  const plan = app.strategy.plan(request, resolution.model, stream)
  if (plan.model !== resolution.model && !keyMayUse(request, plan.model.name)) throw errors.ruleModelNotAllowed(requested)
  return plan
}

/** Builds the job for a request; throws OpenAI-shaped errors for unroutable ones. */
export function prepareJob<B extends Body>(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, stream: boolean): ProxyJob<B> {
  const body = request.body as B
  const identity = request.identity!
  const table = app.modelRouting.table
  const plan = planRequestedModel(app, request, body.model, stream)
  const candidates = RoutingPlanner.deployments(plan)
  const coolingUntil = coolingUntilOf(app, plan)
  // With fallback models there is still a chance: the engine goes on to them.
  if (candidates.length === 0 && plan.model.fallbacks.length === 0) {
    if (coolingUntil !== undefined) throw errors.allDeploymentsCoolingDown(plan.model.name, (coolingUntil - Date.now()) / 1000)
    throw errors.noDeployment(plan.model.name)
  }

  // Cancels the upstream call (and any further attempt) when the client goes away.
  const controller = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort()
  })
  const includeUsage = stream && (body as ChatCompletionRequest).stream_options?.include_usage === true
  return {
    requestId: request.id,
    created: Math.floor(Date.now() / 1000),
    body,
    raw: request.rawBody ?? JSON.stringify(body),
    stream,
    includeUsage,
    model: plan.model,
    candidates,
    table,
    signal: controller.signal,
    meta: { keyId: identity.id, tenant: identity.tenant ?? null, strategy: plan.strategy },
    coolingUntil,
    // Fallback models are ranked like the requested one, and only those the key
    // may use (also after a routing rule moved the fallback elsewhere).
    planFallback: (name) => {
      const target = table.get(name)
      if (!target || !keyMayUse(request, target.name)) return undefined
      const fallbackPlan = app.strategy.plan(request, target, stream)
      if (fallbackPlan.model !== target && !keyMayUse(request, fallbackPlan.model.name)) return undefined
      return { model: fallbackPlan.model, candidates: RoutingPlanner.deployments(fallbackPlan), coolingUntil: coolingUntilOf(app, fallbackPlan) }
    },
  }
}

/**
 * When every deployment the plan left out (other than disabled ones) is
 * cooling down: epoch ms when the first one takes traffic again.
 */
function coolingUntilOf(app: FastifyInstance, plan: RoutingPlan): number | undefined {
  const health = app.deploymentHealth
  if (!health) return undefined
  const now = Date.now()
  const ids = plan.excluded.filter((e) => e.reason !== 'disabled').map((e) => e.id)
  const ms = coolingRetryAfterMs(ids, health, now)
  return ms === undefined ? undefined : now + ms
}

// A lone surrogate cannot be encoded: it becomes U+FFFD.
const percentEncode = (c: string): string => {
  try {
    return encodeURIComponent(c)
  } catch {
    return '%EF%BF%BD'
  }
}

/** Longest value of a routing header the gateway writes. */
export const ROUTING_HEADER_MAX_LENGTH = 256

/**
 * A value safe to write as a header: printable ASCII, at most
 * ROUTING_HEADER_MAX_LENGTH characters. Anything else (a non-Latin-1 name from
 * the configuration, a control character) is percent-encoded, so that writing
 * the headers cannot throw once the upstream has answered (which would leave
 * the attempt's in-flight count and stream unsettled).
 */
export function headerValue(value: string): string {
  let v = /^[\x20-\x7E]*$/.test(value) ? value : value.replace(/[^\x20-\x7E]/gu, percentEncode)
  if (v.length > ROUTING_HEADER_MAX_LENGTH) v = `${v.slice(0, ROUTING_HEADER_MAX_LENGTH - 3)}...`
  return v
}

export function sendProxyResponse(reply: FastifyReply, request: FastifyRequest, result: ProxyResponse): FastifyReply {
  const d = result.deployment
  const overhead = Math.max(0, performance.now() - request.startedAt - result.upstreamMs)
  reply
    .code(result.status)
    .headers(result.headers)
    .header('x-switchyard-provider', headerValue(d.provider))
    .header('x-switchyard-deployment', headerValue(d.id))
    .header('x-switchyard-model', headerValue(d.upstreamModel))
    .header('x-switchyard-attempts', String(result.attempts))
  if (result.fallbackModel) reply.header('x-switchyard-fallback-model', headerValue(result.fallbackModel))
  reply
    .header('x-switchyard-overhead-ms', overhead.toFixed(3))
  return reply.send(result.body)
}
