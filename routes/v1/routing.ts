// Routing insight for API users: what a request would cost, and how fast
// each deployment has been answering.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { countPromptTokens } from '../../lib/cost/tokens.js'
import { computeCost } from '../../lib/cost/compute.js'
import { modelExpectedCompletion, RoutingPlanner } from '../../lib/routing/planner.js'
import type { ChatCompletionRequest as ChatBody } from '../../lib/openai/types.js'
import { ChatCompletionRequest, errorResponses, ModelName, security } from './schemas.js'
import { pipelineRequest } from './proxy-route.js'
import { mayUse } from '../../lib/pipeline/stages/resolve.js'

const Nullable = <T extends ReturnType<typeof Type.Number>>(t: T) => Type.Union([t, Type.Null()])

const CostLine = Type.Object({
  deploymentId: Type.String(),
  provider: Type.String(),
  upstreamModel: Type.String(),
  promptTokens: Type.Integer(),
  tokenCounting: Type.String({ description: "tiktoken (exact tokenizer), tiktoken+estimate (tokenizer within a work budget, the rest of a very long or unusual prompt estimated) or approximation (characters / 4)" }),
  completionTokens: Type.Integer({ description: 'Assumed completion tokens: the same for every candidate' }),
  completionTokensSource: Type.String({ description: "max_tokens, model-mean (the model's mean over all its deployments, weighted by samples) or default" }),
  inputCostUsd: Nullable(Type.Number()),
  outputCostUsd: Nullable(Type.Number()),
  totalCostUsd: Nullable(Type.Number()),
  pricePerMillion: Type.Union([Type.Object({ input: Type.Number(), output: Type.Number(), source: Type.String() }), Type.Null()]),
})

const Estimate = Type.Object({
  model: Type.String(),
  strategy: Type.String(),
  chosen: Type.Union([CostLine, Type.Null()]),
  candidates: Type.Array(CostLine),
})

const LatencyQuery = Type.Object({
  model: Type.Optional(ModelName),
  window: Type.String({ pattern: '^\\d+[smh]$', default: '15m', description: 'Recent window, e.g. 60s, 15m, 1h' }),
})

const Pct = Type.Object({ p50: Nullable(Type.Number()), p95: Nullable(Type.Number()), p99: Nullable(Type.Number()) })
const LatencyReport = Type.Object({
  windowMs: Type.Integer(),
  data: Type.Array(
    Type.Object({
      deploymentId: Type.String(),
      model: Type.String(),
      count: Type.Integer(),
      errorRate: Type.Number(),
      emaMs: Nullable(Type.Number()),
      emaTtftMs: Nullable(Type.Number()),
      totalMs: Pct,
      ttftMs: Pct,
      inFlight: Type.Integer(),
      lastSampleAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      health: Type.Optional(Type.Unknown()),
    }),
  ),
})

export function parseWindow(w: string): number {
  const n = Number(w.slice(0, -1))
  return n * ({ s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[w.slice(-1)]!
}

export default async function routingRoutes(app: FastifyInstance) {
  app.post('/routing/estimate-cost', {
    schema: {
      tags: ['OpenAI-compatible'],
      summary: 'Estimate what a chat request would cost, on the chosen deployment and on every candidate',
      security,
      body: ChatCompletionRequest,
      response: { 200: Estimate, ...errorResponses },
    },
  }, async (request, reply) => {
    const body = request.body as ChatBody
    // The pipeline's own resolve and plan stages: the same permission checks
    // as chat (404, 403, and 403 again after a rule), nothing reserved or sent.
    const plan = app.pipeline.preview(pipelineRequest(request, reply, 'estimate')).plan!
    const deployments = RoutingPlanner.deployments(plan)
    // One expected completion for every candidate, as the cost strategy prices them.
    const expected = plan.expectedCompletion ?? modelExpectedCompletion(plan.model, request.body as Record<string, unknown>, (id) => app.latency.tracker.get(id))
    const completion = expected.tokens
    const source = expected.source
    const lines = deployments.map((d) => {
      const counted = countPromptTokens(body, d.providerType, d.upstreamModel)
      const price = app.costEstimate.priceOf(d)
      const cost = price
        ? computeCost({ prompt_tokens: counted.tokens, completion_tokens: completion, total_tokens: counted.tokens + completion }, price)
        : undefined
      return {
        deploymentId: d.id,
        provider: d.provider,
        upstreamModel: d.upstreamModel,
        promptTokens: counted.tokens,
        tokenCounting: counted.method,
        completionTokens: completion,
        completionTokensSource: source,
        inputCostUsd: cost ? cost.inputUsd : null,
        outputCostUsd: cost ? cost.outputUsd : null,
        totalCostUsd: cost ? cost.totalUsd : null,
        pricePerMillion: price ? { input: price.input, output: price.output, source: price.source } : null,
      }
    })
    return { model: plan.model.name, strategy: plan.strategy, chosen: lines[0] ?? null, candidates: lines }
  })

  app.get<{ Querystring: Static<typeof LatencyQuery> }>('/routing/latency', {
    schema: {
      tags: ['OpenAI-compatible'],
      summary: 'Latency per deployment over a recent window: count, error rate, EMA, p50/p95/p99 of total time and TTFT',
      security,
      querystring: LatencyQuery,
      response: { 200: LatencyReport, ...errorResponses },
    },
  }, async (request) => {
    const windowMs = parseWindow(request.query.window)
    // Only deployments of models the key may use (all of them for the master key):
    // one tenant does not see another's traffic. Pattern deployments count as
    // their pattern; ids no longer in the routing table only for the master key.
    const table = app.modelRouting.table
    const master = request.identity!.master
    const snapshot = app.latency.tracker.snapshot({ model: request.query.model, windowMs, now: Date.now() }).filter((s) => {
      if (master) return true
      const model = table.deploymentModel(s.deploymentId)
      return model !== undefined && mayUse(request.identity!, { name: model })
    })
    const pct = (p: { p50?: number; p95?: number; p99?: number }) => ({ p50: p.p50 ?? null, p95: p.p95 ?? null, p99: p.p99 ?? null })
    return {
      windowMs,
      data: snapshot.map((s) => ({
        deploymentId: s.deploymentId,
        model: s.model,
        count: s.count,
        errorRate: s.errorRate,
        emaMs: s.emaMs ?? null,
        emaTtftMs: s.emaTtftMs ?? null,
        totalMs: pct(s.total),
        ttftMs: pct(s.ttft),
        inFlight: app.latency.inflight.get(s.deploymentId),
        lastSampleAt: s.lastSampleAt ? new Date(s.lastSampleAt).toISOString() : null,
        health: app.cooldown.health(s.deploymentId),
      })),
    }
  })
}
