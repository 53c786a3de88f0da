// Routing rules (lib/strategies/rules.ts): evaluated in position order while
// the `rules` strategy is in force (globally or for the model); the first
// enabled rule whose conditions all hold decides the model, the deployments or
// the strategy of the request. Changes apply to the very next request.
import type { FastifyInstance } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { randomUUID } from 'node:crypto'
import { adminErrors as errs } from '../../lib/admin/errors.js'
import { raise, rethrowNonBodyValidation } from '../../lib/admin/config-state.js'
import { schemaProblems } from '../../lib/config/gateway-config.js'
import { STRATEGY_NAMES, type RankingStrategyName } from '../../lib/strategies/index.js'
import type { RuleAction, RuleConditions } from '../../lib/strategies/rules.js'
import { actorOf, adminSecurity } from './hooks.js'
import { adminErrorResponses, IdParams, listOf } from './schemas.js'

const tokens = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description }))

export const RuleConditionsSchema = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, description: 'Requested model name, or a glob with *' })),
    keyId: Type.Optional(Type.String({ minLength: 1, description: 'Gateway key id (exact)' })),
    tenant: Type.Optional(Type.String({ minLength: 1, description: 'Tenant of the gateway key (exact)' })),
    header: Type.Optional(
      Type.Object(
        {
          name: Type.String({ minLength: 1, description: 'Case-insensitive' }),
          equals: Type.Optional(Type.String()),
          matches: Type.Optional(Type.String({ description: 'Glob with *' })),
        },
        { additionalProperties: false, description: 'Neither equals nor matches: the header is present' },
      ),
    ),
    metadata: Type.Optional(
      Type.Object({ key: Type.String({ minLength: 1 }), equals: Type.String({ description: 'Compared with String(metadata[key])' }) }, { additionalProperties: false }),
    ),
    minPromptTokens: tokens('Inclusive, estimated'),
    maxPromptTokens: tokens('Inclusive, estimated'),
    stream: Type.Optional(Type.Boolean()),
    hasTools: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, description: 'All given conditions must hold; none = matches every request' },
)

const RANKING_STRATEGIES = STRATEGY_NAMES.filter((s): s is RankingStrategyName => s !== 'rules')
const ActionSchemas = {
  model: Type.Object(
    { type: Type.Literal('model'), model: Type.String({ minLength: 1, description: 'A model name or alias' }) },
    { additionalProperties: false, description: 'Route to another public model' },
  ),
  deployments: Type.Object(
    { type: Type.Literal('deployments'), deploymentIds: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Tried in this order' }) },
    { additionalProperties: false, description: 'Route to these deployments of the requested model, in order' },
  ),
  strategy: Type.Object(
    { type: Type.Literal('strategy'), strategy: Type.Union(RANKING_STRATEGIES.map((s) => Type.Literal(s))) },
    { additionalProperties: false, description: 'Rank the deployments with this strategy' },
  ),
} satisfies Record<RuleAction['type'], TSchema>
const ACTION_TYPES = Object.keys(ActionSchemas) as Array<RuleAction['type']>
export const RuleActionSchema = Type.Union([ActionSchemas.model, ActionSchemas.deployments, ActionSchemas.strategy])

const Fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  position: Type.Optional(Type.Integer({ minimum: 0, description: 'Evaluation order, lowest first (default: after the others)' })),
  enabled: Type.Optional(Type.Boolean({ description: 'Default true' })),
  conditions: Type.Optional(RuleConditionsSchema),
  action: RuleActionSchema,
}
const CreateRule = Type.Object(Fields, { additionalProperties: false })
const UpdateRule = Type.Partial(Type.Object(Fields), { additionalProperties: false })
// Validated in two steps so the action's problems name its own fields.
const CreateRuleShape = Type.Object({ ...Fields, action: Type.Unknown() }, { additionalProperties: false })
const UpdateRuleShape = Type.Partial(Type.Object({ ...Fields, action: Type.Unknown() }), { additionalProperties: false })

type RuleBody = Static<typeof UpdateRule>

const RuleView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  position: Type.Integer(),
  enabled: Type.Boolean(),
  conditions: RuleConditionsSchema,
  action: RuleActionSchema,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
})

type Row = Awaited<ReturnType<FastifyInstance['db']['routingRule']['findUniqueOrThrow']>>
const parse = <T>(text: string, fallback: T): T => {
  try {
    return (JSON.parse(text) as T) ?? fallback
  } catch {
    return fallback
  }
}
const view = (r: Row) => ({
  id: r.id,
  name: r.name,
  position: r.position,
  enabled: r.enabled,
  conditions: parse<RuleConditions>(r.conditions, {}),
  action: parse<RuleAction>(r.action, { type: 'strategy', strategy: 'model' }),
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
})
const auditView = (r: Row) => {
  const { createdAt: _c, updatedAt: _u, ...rest } = view(r)
  return rest
}

function shapeProblems(body: unknown, partial: boolean): string[] {
  const problems = schemaProblems(partial ? UpdateRuleShape : CreateRuleShape, body)
  if (problems.length || !body || typeof body !== 'object') return problems
  const b = body as RuleBody & { action?: unknown }
  if (b.action !== undefined) {
    const a = b.action as { type?: unknown } | null
    if (!a || typeof a !== 'object' || Array.isArray(a)) problems.push('action: Expected object')
    else if (!ACTION_TYPES.includes(a.type as RuleAction['type']))
      problems.push(`action.type: expected one of ${ACTION_TYPES.map((t) => JSON.stringify(t)).join(', ')}`)
    else problems.push(...schemaProblems(ActionSchemas[a.type as RuleAction['type']], a, 'action'))
  }
  const c = b.conditions
  if (c?.minPromptTokens !== undefined && c.maxPromptTokens !== undefined && c.maxPromptTokens < c.minPromptTokens) {
    problems.push('conditions.maxPromptTokens: must be at least conditions.minPromptTokens')
  }
  return problems
}

const ruleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Bodies are validated in the handlers (attachValidation); querystring and params are not.
  app.addHook('preHandler', async (request) => rethrowNonBodyValidation(request))
  const find = async (db: Pick<FastifyInstance['db'], 'routingRule'>, id: string) => {
    const row = await db.routingRule.findUnique({ where: { id } })
    if (!row) throw errs.notFound('rule', id)
    return row
  }

  /** The action's references must exist now (they may disappear later: a rule then no longer applies). */
  const referenceProblems = async (db: Pick<FastifyInstance['db'], 'deployment' | 'model'>, action: RuleAction | undefined): Promise<string[]> => {
    if (!action) return []
    if (action.type === 'deployments') {
      const found = new Set((await db.deployment.findMany({ where: { id: { in: action.deploymentIds } }, select: { id: true } })).map((d) => d.id))
      return action.deploymentIds.flatMap((id, i) => (found.has(id) ? [] : [`action.deploymentIds[${i}]: unknown deployment "${id}"`]))
    }
    if (action.type === 'model') {
      const models = await db.model.findMany({ select: { name: true, aliases: true } })
      const known = models.some((m) => m.name === action.model || parse<string[]>(m.aliases, []).includes(action.model))
      return known ? [] : [`action.model: unknown model "${action.model}"`]
    }
    return []
  }

  app.get('/rules', {
    schema: { tags: ['Admin'], summary: 'Routing rules in evaluation order (used while the rules strategy is in force)', security: adminSecurity, response: { 200: listOf(RuleView), ...adminErrorResponses } },
  }, async () => ({ data: (await app.db.routingRule.findMany({ orderBy: [{ position: 'asc' }, { createdAt: 'asc' }] })).map(view) }))

  app.get('/rules/:id', {
    schema: { tags: ['Admin'], summary: 'One routing rule', security: adminSecurity, params: IdParams, response: { 200: RuleView, ...adminErrorResponses } },
  }, async (request) => view(await find(app.db, request.params.id)))

  app.post('/rules', {
    schema: { tags: ['Admin'], summary: 'Create a routing rule', security: adminSecurity, body: CreateRule, response: { 201: RuleView, ...adminErrorResponses } },
    attachValidation: true,
  }, async (request, reply) => {
    raise(shapeProblems(request.body, false))
    const b = request.body
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['rules'] }, async (tx) => {
      raise(await referenceProblems(tx, b.action))
      const last = await tx.routingRule.findFirst({ orderBy: { position: 'desc' } })
      const row = await tx.routingRule.create({
        data: {
          id: `rule_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
          name: b.name,
          position: b.position ?? (last ? last.position + 1 : 0),
          enabled: b.enabled ?? true,
          conditions: JSON.stringify(b.conditions ?? {}),
          action: JSON.stringify(b.action),
        },
      })
      return { result: row, audit: { action: 'rule.create', target: row.id, before: null, after: auditView(row) } }
    })
    return reply.code(201).send(view(row))
  })

  app.patch('/rules/:id', {
    schema: { tags: ['Admin'], summary: 'Change a rule (conditions and action are replaced whole)', security: adminSecurity, params: IdParams, body: UpdateRule, response: { 200: RuleView, ...adminErrorResponses } },
    attachValidation: true,
  }, async (request) => {
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['rules'] }, async (tx) => {
      const before = await find(tx, request.params.id)
      raise(shapeProblems(request.body, true))
      const b = request.body
      raise(await referenceProblems(tx, b.action))
      const row = await tx.routingRule.update({
        where: { id: before.id },
        data: {
          ...(b.name !== undefined ? { name: b.name } : {}),
          ...(b.position !== undefined ? { position: b.position } : {}),
          ...(b.enabled !== undefined ? { enabled: b.enabled } : {}),
          ...(b.conditions !== undefined ? { conditions: JSON.stringify(b.conditions) } : {}),
          ...(b.action !== undefined ? { action: JSON.stringify(b.action) } : {}),
        },
      })
      return { result: row, audit: { action: 'rule.update', target: row.id, before: auditView(before), after: auditView(row) } }
    })
    return view(row)
  })

  app.delete('/rules/:id', {
    schema: { tags: ['Admin'], summary: 'Delete a rule', security: adminSecurity, params: IdParams, response: { 200: RuleView, ...adminErrorResponses } },
  }, async (request) => {
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['rules'] }, async (tx) => {
      const row = await find(tx, request.params.id)
      await tx.routingRule.delete({ where: { id: row.id } })
      return { result: row, audit: { action: 'rule.delete', target: row.id, before: auditView(row), after: null } }
    })
    return view(row)
  })
}

export default ruleRoutes
