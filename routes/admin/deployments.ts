// Deployments: one model served by one provider (upstream model, weight,
// price, limits). Writes mark the row admin-owned, so the YAML seed leaves it
// alone from then on, and reload routing for the very next request.
// Deployment ids come from deploymentId(): the explicit `id`, else
// model:provider:upstream; they contain ':' (and may contain '/'), so send
// them URL-encoded in the path.
import type { FastifyInstance } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { Type, type TSchema } from '@sinclair/typebox'
import { adminErrors as errs } from '../../lib/admin/errors.js'
import { introducedProblems, raise, rethrowNonBodyValidation, validate } from '../../lib/admin/config-state.js'
import { DeploymentConfigSchema, deploymentId } from '../../lib/config/gateway-config.js'
import { deploymentRows, loadConfig } from '../../lib/storage/config-store.js'
import { actorOf, adminSecurity } from './hooks.js'
import { adminErrorResponses, IdParams, listOf } from './schemas.js'

const D = DeploymentConfigSchema.properties

const PriceView = Type.Object({
  input: Type.Number({ description: 'USD per 1M input tokens' }),
  output: Type.Number({ description: 'USD per 1M output tokens' }),
  cacheRead: Type.Union([Type.Number(), Type.Null()]),
  cacheWrite: Type.Union([Type.Number(), Type.Null()]),
})

export const DeploymentView = Type.Object({
  id: Type.String(),
  model: Type.String({ description: 'Public model name' }),
  provider: Type.String(),
  upstreamModel: Type.String(),
  position: Type.Integer(),
  weight: Type.Number(),
  enabled: Type.Boolean(),
  pricing: Type.Union([PriceView, Type.Null()], { description: 'Own price; null = the catalog (or an admin price entry) applies' }),
  rpm: Type.Union([Type.Integer(), Type.Null()]),
  tpm: Type.Union([Type.Integer(), Type.Null()]),
  source: Type.String({ description: 'yaml or admin (admin rows are left alone by the YAML seed)' }),
  updatedAt: Type.String({ format: 'date-time' }),
})

export type DeploymentRow = Awaited<ReturnType<FastifyInstance['db']['deployment']['findUniqueOrThrow']>>

function limitsOf(row: DeploymentRow): { rpm?: number; tpm?: number } {
  try {
    return (JSON.parse(row.options) as { rpm?: number; tpm?: number }) ?? {}
  } catch {
    return {}
  }
}

export function deploymentView(row: DeploymentRow) {
  const limits = limitsOf(row)
  return {
    id: row.id,
    model: row.modelId,
    provider: row.providerId,
    upstreamModel: row.upstreamModel,
    position: row.position,
    weight: row.weight,
    enabled: row.enabled,
    pricing:
      row.priceInput != null && row.priceOutput != null
        ? { input: row.priceInput, output: row.priceOutput, cacheRead: row.priceCacheRead, cacheWrite: row.priceCacheWrite }
        : null,
    rpm: limits.rpm ?? null,
    tpm: limits.tpm ?? null,
    source: row.source,
    updatedAt: row.updatedAt.toISOString(),
  }
}

const auditView = (row: DeploymentRow) => {
  const { updatedAt: _u, ...rest } = deploymentView(row)
  return rest
}

const ListQuery = Type.Object({
  model: Type.Optional(Type.String({ description: 'Public model name' })),
  provider: Type.Optional(Type.String()),
})
const ModelParams = Type.Object({ name: Type.String({ minLength: 1 }) })

const orNull = <T extends TSchema>(s: T) => Type.Optional(Type.Union([s, Type.Null()]))
const UpdateDeployment = Type.Object(
  {
    weight: D.weight,
    enabled: D.enabled,
    pricing: orNull(
      Type.Object(
        {
          input: Type.Number({ minimum: 0 }),
          output: Type.Number({ minimum: 0 }),
          cacheRead: Type.Optional(Type.Number({ minimum: 0 })),
          cacheWrite: Type.Optional(Type.Number({ minimum: 0 })),
        },
        { additionalProperties: false, description: 'USD per 1M tokens; null clears (the catalog applies again)' },
      ),
    ),
    model: Type.Optional(Type.String({ minLength: 1, description: 'Upstream model id (the deployment id does not change)' })),
    rpm: orNull(Type.Integer({ minimum: 1 })),
    tpm: orNull(Type.Integer({ minimum: 1 })),
    position: Type.Optional(Type.Integer({ minimum: 0, description: 'Declared order within the model (the `model` strategy tries lower first)' })),
  },
  { additionalProperties: false },
)

const deploymentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Bodies are validated in the handlers (attachValidation); querystring and params are not.
  app.addHook('preHandler', async (request) => rethrowNonBodyValidation(request))
  const find = async (db: Pick<FastifyInstance['db'], 'deployment'>, id: string) => {
    const row = await db.deployment.findUnique({ where: { id } })
    if (!row) throw errs.notFound('deployment', id)
    return row
  }

  app.get('/deployments', {
    schema: { tags: ['Admin'], summary: 'List deployments, optionally of one model or provider', security: adminSecurity, querystring: ListQuery, response: { 200: listOf(DeploymentView), ...adminErrorResponses } },
  }, async (request) => {
    const { model, provider } = request.query
    const rows = await app.db.deployment.findMany({
      where: { ...(model ? { modelId: model } : {}), ...(provider ? { providerId: provider } : {}) },
      orderBy: [{ modelId: 'asc' }, { position: 'asc' }],
    })
    return { data: rows.map(deploymentView) }
  })

  app.get('/deployments/:id', {
    schema: { tags: ['Admin'], summary: 'One deployment (URL-encode the id)', security: adminSecurity, params: IdParams, response: { 200: DeploymentView, ...adminErrorResponses } },
  }, async (request) => deploymentView(await find(app.db, request.params.id)))

  app.post('/models/:name/deployments', {
    schema: {
      tags: ['Admin'],
      summary: 'Add a deployment to a model (the YAML `deployments[]` shape); it goes last in declared order',
      security: adminSecurity,
      params: ModelParams,
      body: DeploymentConfigSchema,
      response: { 201: DeploymentView, ...adminErrorResponses },
    },
    attachValidation: true,
  }, async (request, reply) => {
    const body = validate(DeploymentConfigSchema, request.body)
    const name = request.params.name
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['routing'] }, async (tx) => {
      const before = await loadConfig(tx)
      const model = before.models.find((m) => m.name === name)
      if (!model) throw errs.notFound('model', name)
      const id = deploymentId(name, body)
      if (await tx.deployment.findUnique({ where: { id } })) {
        throw errs.conflict(`id: deployment "${id}" already exists${body.id ? '' : ' (set a distinct id)'}`, 'id')
      }
      const after = { ...before, models: [...before.models.filter((m) => m !== model), { ...model, deployments: [...model.deployments, body] }] }
      raise(introducedProblems(before, after, { kind: 'models', name, under: `deployments[${model.deployments.length}].` }))
      const last = await tx.deployment.findFirst({ where: { modelId: name }, orderBy: { position: 'desc' } })
      const data = { ...deploymentRows({ name, deployments: [body] }, 'admin')[0]!, position: last ? last.position + 1 : 0 }
      const row = await tx.deployment.create({ data })
      return { result: row, audit: { action: 'deployment.create', target: row.id, before: null, after: auditView(row) } }
    })
    return reply.code(201).send(deploymentView(row))
  })

  app.patch('/deployments/:id', {
    schema: {
      tags: ['Admin'],
      summary: 'Change a deployment: weight, enabled, price, upstream model, limits, position',
      security: adminSecurity,
      params: IdParams,
      body: UpdateDeployment,
      response: { 200: DeploymentView, ...adminErrorResponses },
    },
    attachValidation: true,
  }, async (request) => {
    const patch = validate(UpdateDeployment, request.body)
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['routing'] }, async (tx) => {
      const current = await find(tx, request.params.id)
      const limits = limitsOf(current)
      for (const k of ['rpm', 'tpm'] as const) {
        const v = patch[k]
        if (v === null) delete limits[k]
        else if (v !== undefined) limits[k] = v
      }
      const row = await tx.deployment.update({
        where: { id: current.id },
        data: {
          ...(patch.weight !== undefined ? { weight: patch.weight } : {}),
          ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
          ...(patch.model !== undefined ? { upstreamModel: patch.model } : {}),
          ...(patch.position !== undefined ? { position: patch.position } : {}),
          ...(patch.pricing !== undefined
            ? {
                priceInput: patch.pricing?.input ?? null,
                priceOutput: patch.pricing?.output ?? null,
                priceCacheRead: patch.pricing?.cacheRead ?? null,
                priceCacheWrite: patch.pricing?.cacheWrite ?? null,
              }
            : {}),
          options: JSON.stringify(limits),
          source: 'admin',
        },
      })
      return { result: row, audit: { action: 'deployment.update', target: row.id, before: auditView(current), after: auditView(row) } }
    })
    return deploymentView(row)
  })

  app.delete('/deployments/:id', {
    schema: {
      tags: ['Admin'],
      summary: 'Delete a deployment (409 for a model\'s last one: delete the model instead). A YAML deployment comes back on the next start; disable it to keep it out.',
      security: adminSecurity,
      params: IdParams,
      response: { 200: DeploymentView, ...adminErrorResponses },
    },
  }, async (request) => {
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['routing'] }, async (tx) => {
      const row = await find(tx, request.params.id)
      const siblings = await tx.deployment.count({ where: { modelId: row.modelId } })
      if (siblings <= 1) throw errs.conflict(`deployment "${row.id}" is the last one of model "${row.modelId}": delete the model instead, or add another deployment first`, 'id')
      await tx.deployment.delete({ where: { id: row.id } })
      return { result: row, audit: { action: 'deployment.delete', target: row.id, before: auditView(row), after: null } }
    })
    return deploymentView(row)
  })
}

export default deploymentRoutes
