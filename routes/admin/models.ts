// Public models and their deployments. A model is created in the YAML shape
// (with its deployments) and checked like the YAML file is: unknown
// providers, fallbacks or strategies are 400 naming the field; a name or alias
// another model already answers to is 409. Writes mark the rows admin-owned
// (the YAML seed leaves them alone from then on) and reload routing for the
// very next request.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { adminErrors as errs } from '../../lib/admin/errors.js'
import { introducedProblems, raise, rethrowNonBodyValidation, validate } from '../../lib/admin/config-state.js'
import { ModelConfigSchema, type ModelConfig } from '../../lib/config/gateway-config.js'
import { deploymentRows, loadConfig, modelRow } from '../../lib/storage/config-store.js'
import { adminSecurity } from './hooks.js'
import { adminErrors, listOf } from './schemas.js'
import { deploymentView, DeploymentView, type DeploymentRow } from './deployments.js'

const M = ModelConfigSchema.properties
const NameParams = Type.Object({ name: Type.String({ minLength: 1 }) })
const ForceQuery = Type.Object({
  force: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'true: delete even if other models, the default model or rules refer to it' })),
})

const UpdateModel = Type.Object(
  {
    aliases: M.aliases,
    fallbacks: M.fallbacks,
    contextWindowFallbacks: M.contextWindowFallbacks,
    strategy: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'Per-model strategy; null = the global one' })),
    timeouts: Type.Optional(Type.Union([M.timeouts, Type.Null()])),
    retries: Type.Optional(Type.Union([M.retries, Type.Null()])),
  },
  { additionalProperties: false, description: 'Fields to change. Deployments are changed under /admin/deployments.' },
)
type UpdateBody = Omit<Partial<ModelConfig>, 'strategy' | 'timeouts' | 'retries'> & {
  strategy?: string | null
  timeouts?: ModelConfig['timeouts'] | null
  retries?: ModelConfig['retries'] | null
}

const ModelView = Type.Object({
  name: Type.String(),
  aliases: Type.Array(Type.String()),
  fallbacks: Type.Array(Type.String()),
  contextWindowFallbacks: Type.Array(Type.String()),
  strategy: Type.Union([Type.String(), Type.Null()]),
  timeouts: Type.Unknown(),
  retries: Type.Unknown({ description: 'Retries per deployment; null = the routing default' }),
  source: Type.String({ description: 'yaml or admin (admin rows are left alone by the YAML seed)' }),
  deployments: Type.Array(DeploymentView),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
})

type Row = Awaited<ReturnType<FastifyInstance['db']['model']['findUniqueOrThrow']>>

const parse = <T>(text: string, fallback: T): T => {
  try {
    return (JSON.parse(text) as T) ?? fallback
  } catch {
    return fallback
  }
}

function view(row: Row, deployments: DeploymentRow[]) {
  const options = parse<Pick<ModelConfig, 'contextWindowFallbacks' | 'timeouts' | 'retries'>>(row.options, {})
  return {
    name: row.name,
    aliases: parse<string[]>(row.aliases, []),
    fallbacks: parse<string[]>(row.fallbacks, []),
    contextWindowFallbacks: options.contextWindowFallbacks ?? [],
    strategy: row.strategy,
    timeouts: options.timeouts ?? null,
    retries: options.retries ?? null,
    source: row.source,
    deployments: deployments.map(deploymentView),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

const auditView = (row: Row, deployments: DeploymentRow[]) => {
  const { createdAt: _c, updatedAt: _u, ...rest } = view(row, deployments)
  return { ...rest, deployments: rest.deployments.map(({ updatedAt: _d, ...d }) => d) }
}

export default async function modelRoutes(app: FastifyInstance) {
  // Bodies are validated in the handlers (attachValidation); querystring and params are not.
  app.addHook('preHandler', async (request) => rethrowNonBodyValidation(request))
  const find = async (name: string) => {
    const row = await app.db.model.findUnique({ where: { name } })
    if (!row) throw errs.notFound('model', name)
    return { row, deployments: await app.db.deployment.findMany({ where: { modelId: row.id }, orderBy: { position: 'asc' } }) }
  }

  app.get('/models', {
    schema: { tags: ['Admin'], summary: 'List models with their deployments', security: adminSecurity, response: { 200: listOf(ModelView), ...adminErrors } },
  }, async () => {
    const [rows, deployments] = await Promise.all([
      app.db.model.findMany({ orderBy: { createdAt: 'asc' } }),
      app.db.deployment.findMany({ orderBy: [{ modelId: 'asc' }, { position: 'asc' }] }),
    ])
    return { data: rows.map((r) => view(r, deployments.filter((d) => d.modelId === r.id))) }
  })

  app.get<{ Params: Static<typeof NameParams> }>('/models/:name', {
    schema: { tags: ['Admin'], summary: 'One model with its deployments', security: adminSecurity, params: NameParams, response: { 200: ModelView, ...adminErrors } },
  }, async (request) => {
    const { row, deployments } = await find(request.params.name)
    return view(row, deployments)
  })

  app.post<{ Body: ModelConfig }>('/models', {
    schema: {
      tags: ['Admin'],
      summary: 'Create a model with its deployments (the YAML `models[]` shape)',
      security: adminSecurity,
      body: ModelConfigSchema,
      response: { 201: ModelView, ...adminErrors },
    },
    attachValidation: true,
  }, async (request, reply) => {
    const body = validate<ModelConfig>(ModelConfigSchema, request.body)
    if (await app.db.model.findUnique({ where: { name: body.name } })) throw errs.conflict(`name: model "${body.name}" already exists`, 'name')
    const before = await loadConfig(app.db)
    raise(introducedProblems(before, { ...before, models: [...before.models, body] }, { kind: 'models', name: body.name }))
    const taken = await app.db.deployment.findMany({ where: { id: { in: deploymentRows(body, 'admin').map((d) => d.id) } }, select: { id: true } })
    if (taken.length) throw errs.conflict(`deployments: id "${taken[0]!.id}" is already used by another model (set a distinct id)`, 'deployments')
    await app.db.$transaction(async (tx) => {
      await tx.model.create({ data: modelRow(body, 'admin') })
      for (const d of deploymentRows(body, 'admin')) await tx.deployment.create({ data: d })
    })
    const { row, deployments } = await find(body.name)
    await app.audit(request, 'model.create', row.name, null, auditView(row, deployments))
    await app.changes.publish(['routing'])
    return reply.code(201).send(view(row, deployments))
  })

  app.patch<{ Params: Static<typeof NameParams>; Body: UpdateBody }>('/models/:name', {
    schema: {
      tags: ['Admin'],
      summary: 'Change a model\'s aliases, fallbacks, strategy, context-window fallbacks, timeouts or retries',
      security: adminSecurity,
      params: NameParams,
      body: UpdateModel,
      response: { 200: ModelView, ...adminErrors },
    },
    attachValidation: true,
  }, async (request) => {
    const patch = validate<UpdateBody>(UpdateModel, request.body)
    const current = await find(request.params.name)
    const before = await loadConfig(app.db)
    const stored = before.models.find((m) => m.name === current.row.name)!
    const next: Record<string, unknown> = { ...stored }
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete next[k]
      else next[k] = v
    }
    const model = next as unknown as ModelConfig
    // The changed model goes last, so a clash is reported on its own fields.
    const after = { ...before, models: [...before.models.filter((m) => m !== stored), model] }
    raise(introducedProblems(before, after, { kind: 'models', name: model.name }))
    const { id: _id, name: _name, ...data } = modelRow(model, 'admin')
    await app.db.model.update({ where: { id: current.row.id }, data })
    const updated = await find(model.name)
    await app.audit(request, 'model.update', model.name, auditView(current.row, current.deployments), auditView(updated.row, updated.deployments))
    await app.changes.publish(['routing'])
    return view(updated.row, updated.deployments)
  })

  app.delete<{ Params: Static<typeof NameParams>; Querystring: Static<typeof ForceQuery> }>('/models/:name', {
    schema: {
      tags: ['Admin'],
      summary: 'Delete a model and its deployments; 409 while other models, the default model or rules refer to it, unless ?force=true. A YAML model comes back on the next start.',
      security: adminSecurity,
      params: NameParams,
      querystring: ForceQuery,
      response: { 200: ModelView, ...adminErrors },
    },
  }, async (request) => {
    const current = await find(request.params.name)
    const force = request.query.force === 'true'
    if (!force) {
      const before = await loadConfig(app.db)
      const stored = before.models.find((m) => m.name === current.row.name)!
      const problems = introducedProblems(before, { ...before, models: before.models.filter((m) => m !== stored) })
      const names = new Set([stored.name, ...(stored.aliases ?? [])])
      for (const r of await app.db.routingRule.findMany({ orderBy: [{ position: 'asc' }, { createdAt: 'asc' }] })) {
        const action = parse<{ type?: string; model?: string }>(r.action, {})
        if (action.type === 'model' && action.model && names.has(action.model)) problems.push(`rule "${r.name}" (${r.id}) routes to it`)
      }
      if (problems.length) throw errs.conflict(`model "${stored.name}" is still referred to: ${problems.join('; ')}. Pass ?force=true to delete it anyway.`, 'name')
    }
    await app.db.model.delete({ where: { id: current.row.id } })
    await app.audit(request, 'model.delete', current.row.name, auditView(current.row, current.deployments), null)
    await app.changes.publish(['routing'])
    return view(current.row, current.deployments)
  })
}
