import { Type } from '@sinclair/typebox'
import { adminErrors as errs } from '../../lib/admin/errors.js'
import type { AuditEntry } from '../../lib/admin/config-service.js'
import { modelExpectedCompletion, RoutingPlanner } from '../../lib/routing/planner.js'
import { estimateRequestCost } from '../../lib/cost/compute.js'
import { hashKey } from '../../lib/keys/keys.js'
import { countPromptTokens } from '../../lib/cost/tokens.js'
import type { ChatCompletionRequest } from '../../lib/openai/types.js'
import { STRATEGY_NAMES } from '../../lib/strategies/index.js'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { actorOf, adminSecurity } from './hooks.js'
import { adminErrorResponses, StrategyName } from './schemas.js'

const StrategyState = Type.Object({
  strategy: Type.String({ description: 'Global strategy' }),
  rulesFallback: Type.String({ description: 'Strategy for traffic no rule matches when the global strategy is rules' }),
  models: Type.Array(Type.Object({ model: Type.String(), strategy: Type.String() }), { description: 'Per-model overrides' }),
  available: Type.Array(Type.String()),
})

const SetStrategy = Type.Object(
  {
    strategy: Type.Union([StrategyName, Type.Null()], { description: 'null clears a per-model override' }),
    model: Type.Optional(Type.String({ minLength: 1, description: 'Override for this model only' })),
    rulesFallback: Type.Optional(StrategyName),
  },
  { additionalProperties: false },
)

const RoutingTest = Type.Object(
  {
    request: Type.Object({ model: Type.String({ minLength: 1 }) }, { additionalProperties: true, description: 'A chat completion request body' }),
    key: Type.Optional(Type.String({ description: 'A gateway key to evaluate rules and permissions as' })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
)

const routingAdminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const state = async () => {
    const [fallback, models] = await Promise.all([
      app.db.setting.findUnique({ where: { key: 'routing.rulesFallback' } }),
      app.db.model.findMany({ where: { strategy: { not: null } }, select: { name: true, strategy: true } }),
    ])
    return {
      strategy: app.modelRouting.table.strategy,
      rulesFallback: fallback ? (JSON.parse(fallback.value) as string) : 'model',
      models: models.map((m) => ({ model: m.name, strategy: m.strategy! })),
      available: [...STRATEGY_NAMES],
    }
  }

  app.get('/routing/strategy', {
    schema: { tags: ['Admin'], summary: 'The routing strategy in force', security: adminSecurity, response: { 200: StrategyState, ...adminErrorResponses } },
  }, async () => state())

  app.post('/routing/strategy', {
    schema: {
      tags: ['Admin'],
      summary: 'Switch the routing strategy (global or per model); applies to the next request',
      security: adminSecurity,
      body: SetStrategy,
      response: { 200: StrategyState, ...adminErrorResponses },
    },
  }, async (request) => {
    const { strategy, model, rulesFallback } = request.body
    // Checked before anything is written, so a bad request changes nothing.
    if (!model && strategy === null) throw errs.invalid('strategy: null is only valid with "model" (clears a per-model override)', 'strategy')
    if (rulesFallback === 'rules') throw errs.invalid('rulesFallback: cannot be "rules"', 'rulesFallback')
    await app.configService.write({ actor: actorOf(request), kinds: ['routing'] }, async (tx) => {
      const audit: AuditEntry[] = []
      if (model) {
        const row = await tx.model.findUnique({ where: { name: model } })
        if (!row) throw errs.notFound('model', model)
        await tx.model.update({ where: { id: row.id }, data: { strategy, source: 'admin' } })
        audit.push({ action: 'routing.strategy.model', target: model, before: row.strategy, after: strategy })
      } else {
        const prev = await tx.setting.findUnique({ where: { key: 'routing.strategy' } })
        const value = JSON.stringify(strategy)
        await tx.setting.upsert({
          where: { key: 'routing.strategy' },
          create: { key: 'routing.strategy', value, source: 'admin' },
          update: { value, source: 'admin' },
        })
        audit.push({ action: 'routing.strategy', target: null, before: prev ? JSON.parse(prev.value) : 'model', after: strategy })
      }
      if (rulesFallback) {
        const prev = await tx.setting.findUnique({ where: { key: 'routing.rulesFallback' } })
        const value = JSON.stringify(rulesFallback)
        await tx.setting.upsert({
          where: { key: 'routing.rulesFallback' },
          create: { key: 'routing.rulesFallback', value, source: 'admin' },
          update: { value, source: 'admin' },
        })
        audit.push({ action: 'routing.rulesFallback', target: null, before: prev ? JSON.parse(prev.value) : 'model', after: rulesFallback })
      }
      return { result: undefined, audit }
    })
    return state()
  })

  app.post('/routing/test', {
    config: { readOnly: true },
    schema: {
      tags: ['Admin'],
      summary: 'Dry run: which deployments a request would go to, in order, and why (no upstream call)',
      security: adminSecurity,
      body: RoutingTest,
      // Not described field by field: the plan's explanation is free-form.
      response: { 200: Type.Unknown({ description: 'The model, strategy, ranked candidates with price, latency and reason, and the excluded deployments' }), ...adminErrorResponses },
    },
  }, async (request) => {
    // Any chat request body: fields beyond model pass through (additionalProperties).
    const body: Record<string, unknown> & { model: string } = request.body.request
    const table = app.modelRouting.table
    const resolution = table.resolve(body.model)
    if (!resolution) throw errs.notFound('model', body.model)
    const identity = request.body.key ? app.keys.verify(request.body.key) : undefined
    if (request.body.key && !identity) throw errs.invalid('key: not a valid gateway key', 'key')
    const keyRow = request.body.key && identity?.id ? await app.db.apiKey.findUnique({ where: { hash: hashKey(request.body.key) } }) : null
    const plan = app.strategy.planner.plan(
      {
        model: resolution.model,
        body,
        stream: body.stream === true,
        keyId: keyRow?.id ?? identity?.id ?? null,
        tenant: identity?.tenant ?? null,
        headers: Object.fromEntries(Object.entries(request.body.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      },
      table,
    )
    const deployments = RoutingPlanner.deployments(plan)
    const countTokens = (d: (typeof deployments)[number]) =>
      Array.isArray(body.messages) ? countPromptTokens(body as unknown as ChatCompletionRequest, d.providerType, d.upstreamModel).tokens : 0
    // One expected completion for every candidate, as the cost strategy prices them.
    const expected = plan.expectedCompletion ?? modelExpectedCompletion(plan.model, body, (id) => app.latency.tracker.get(id))
    const candidates = plan.ranked.map((r, i) => {
      const d = deployments[i]!
      const price = app.costEstimate.priceOf(d)
      const latency = app.latency.tracker.get(d.id)
      const promptTokens = countTokens(d)
      return {
        rank: i + 1,
        deploymentId: d.id,
        provider: d.provider,
        upstreamModel: d.upstreamModel,
        promptTokens,
        estimatedCostUsd: price ? estimateRequestCost(promptTokens, expected.tokens, price) : null,
        priceSource: price?.source ?? null,
        latency: latency ? { emaMs: latency.emaMs ?? null, emaTtftMs: latency.emaTtftMs ?? null, samples: latency.samples } : null,
        inFlight: app.latency.inflight.get(d.id),
        score: r.score ?? null,
        reason: r.reason,
      }
    })
    return {
      model: plan.model.name,
      resolvedVia: resolution.via,
      strategy: plan.strategy,
      strategySource: plan.source,
      rule: plan.rule ?? null,
      expectedCompletion: expected,
      candidates,
      excluded: plan.excluded,
      chosen: candidates[0] ?? null,
      why: candidates[0]
        ? `${plan.strategy} (${plan.source}${plan.rule ? ` "${plan.rule.name}"` : ''}) ranked ${candidates[0].deploymentId} first: ${candidates[0].reason}`
        : 'no deployment is available',
    }
  })
}

export default routingAdminRoutes
