// Shared by chat completions and embeddings: resolve the model, rank its
// deployments, run the proxy, and answer with the routing headers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../../lib/errors.js'
import { modelAllowed } from '../../lib/keys/keys.js'
import { globMatch } from '../../lib/routing/glob.js'
import type { ProxyJob, ProxyResponse } from '../../lib/proxy/engine.js'
import { RoutingPlanner, type RoutingPlan } from '../../lib/routing/planner.js'
import { coolingRetryAfterMs } from '../../lib/resilience/circuit.js'
import type { ChatCompletionRequest, EmbeddingsRequest } from '../../lib/openai/types.js'

type Body = ChatCompletionRequest | EmbeddingsRequest

/** Builds the job for a request; throws OpenAI-shaped errors for unroutable ones. */
export function prepareJob<B extends Body>(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, stream: boolean): ProxyJob<B> {
  const body = request.body as B
  const identity = request.identity!
  const table = app.modelRouting.table
  const resolution = table.resolve(body.model)
  if (!resolution) throw errors.modelNotFound(body.model)
  if (!modelAllowed(identity, resolution.model.name, globMatch)) throw errors.modelNotAllowed(body.model)
  const plan = app.strategy.plan(request, resolution.model, stream)
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
    // Fallback models are ranked like the requested one, and only those the key may use.
    planFallback: (name) => {
      const target = table.get(name)
      if (!target || !modelAllowed(identity, target.name, globMatch)) return undefined
      const fallbackPlan = app.strategy.plan(request, target, stream)
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

export function sendProxyResponse(reply: FastifyReply, request: FastifyRequest, result: ProxyResponse): FastifyReply {
  const d = result.deployment
  const overhead = Math.max(0, performance.now() - request.startedAt - result.upstreamMs)
  reply
    .code(result.status)
    .headers(result.headers)
    .header('x-switchyard-provider', d.provider)
    .header('x-switchyard-deployment', d.id)
    .header('x-switchyard-model', d.upstreamModel)
    .header('x-switchyard-attempts', String(result.attempts))
  if (result.fallbackModel) reply.header('x-switchyard-fallback-model', result.fallbackModel)
  reply
    .header('x-switchyard-overhead-ms', overhead.toFixed(3))
  return reply.send(result.body)
}
