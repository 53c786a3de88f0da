// Public models and their deployments. A model is created in the YAML shape
// (with its deployments) and checked like the YAML file is: unknown
// providers, fallbacks or strategies are 400 naming the field; a name or alias
// another model already answers to is 409. Writes mark the rows admin-owned
// (the YAML seed leaves them alone from then on) and reload routing for the
// very next request.
import type { FastifyInstance } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { Type } from '@sinclair/typebox'
import { adminErrors as errs } from '../../lib/admin/errors.js'
import { introducedProblems, raise, rethrowNonBodyValidation, validate } from '../../lib/admin/config-state.js'
import { ModelConfigSchema, type ModelConfig } from '../../lib/config/gateway-config.js'
import { deploymentRows, loadConfig, modelRow } from '../../lib/storage/config-store.js'
import { actorOf, adminSecurity } from './hooks.js'
import { adminErrorResponses, listOf } from './schemas.js'
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

const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Bodies are validated in the handlers (attachValidation); querystring and params are not.
  app.addHook('preHandler', async (request) => rethrowNonBodyValidation(request))
  const find = async (db: Pick<FastifyInstance['db'], 'model' | 'deployment'>, name: string) => {
    const row = await db.model.findUnique({ where: { name } })
    if (!row) throw errs.notFound('model', name)
    return { row, deployments: await db.deployment.findMany({ where: { modelId: row.id }, orderBy: { position: 'asc' } }) }
  }

  app.get('/models', {
    schema: { tags: ['Admin'], summary: 'List models with their deployments', security: adminSecurity, response: { 200: listOf(ModelView), ...adminErrorResponses } },
  }, async () => {
    const [rows, deployments] = await Promise.all([
      app.db.model.findMany({ orderBy: { createdAt: 'asc' } }),
      app.db.deployment.findMany({ orderBy: [{ modelId: 'asc' }, { position: 'asc' }] }),
    ])
    return { data: rows.map((r) => view(r, deployments.filter((d) => d.modelId === r.id))) }
  })

  app.get('/models/:name', {
    schema: { tags: ['Admin'], summary: 'One model with its deployments', security: adminSecurity, params: NameParams, response: { 200: ModelView, ...adminErrorResponses } },
  }, async (request) => {
    const { row, deployments } = await find(app.db, request.params.name)
    return view(row, deployments)
  })

  app.post('/models', {
    schema: {
      tags: ['Admin'],
      summary: 'Create a model with its deployments (the YAML `models[]` shape)',
      security: adminSecurity,
      body: ModelConfigSchema,
      response: { 201: ModelView, ...adminErrorResponses },
    },
    attachValidation: true,
  }, async (request, reply) => {
    const body = validate(ModelConfigSchema, request.body)
    const created = await app.configService.write({ actor: actorOf(request), kinds: ['routing'] }, async (tx) => {
      if (await tx.model.findUnique({ where: { name: body.name } })) throw errs.conflict(`name: model "${body.name}" already exists`, 'name')
      const before = await loadConfig(tx)
      raise(introducedProblems(before, { ...before, models: [...before.models, body] }, { kind: 'models', name: body.name }))
      const rows = deploymentRows(body, 'admin')
      const taken = await tx.deployment.findMany({ where: { id: { in: rows.map((d) => d.id) } }, select: { id: true } })
      if (taken.length) throw errs.conflict(`deployments: id "${taken[0]!.id}" is already used by another model (set a distinct id)`, 'deployments')
      await tx.model.create({ data: modelRow(body, 'admin') })
      for (const d of rows) await tx.deployment.create({ data: d })
      const created = await find(tx, body.name)
      return { result: created, audit: { action: 'model.create', target: created.row.name, before: null, after: auditView(created.row, created.deployments) } }
    })
    return reply.code(201).send(view(created.row, created.deployments))
  })

  app.patch('/models/:name', {
    schema: {
      tags: ['Admin'],
      summary: 'Change a model\'s aliases, fallbacks, strategy, context-window fallbacks, timeouts or retries',
      security: adminSecurity,
      params: NameParams,
      body: UpdateModel,
      response: { 200: ModelView, ...adminErrorResponses },
    },
    attachValidation: true,
  }, async (request) => {
    const patch = validate(UpdateModel, request.body)
    const updated = await app.configService.write({ actor: actorOf(request), kinds: ['routing'] }, async (tx) => {
      const current = await find(tx, request.params.name)
      const before = await loadConfig(tx)
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
      await tx.model.update({ where: { id: current.row.id }, data })
      const updated = await find(tx, model.name)
      return {
        result: updated,
        audit: { action: 'model.update', target: model.name, before: auditView(current.row, current.deployments), after: auditView(updated.row, updated.deployments) },
      }
    })
    return view(updated.row, updated.deployments)
  })

  app.delete('/models/:name', {
    schema: {
      tags: ['Admin'],
      summary: 'Delete a model and its deployments; 409 while other models, the default model or rules refer to it, unless ?force=true. A YAML model comes back on the next start.',
      security: adminSecurity,
      params: NameParams,
      querystring: ForceQuery,
      response: { 200: ModelView, ...adminErrorResponses },
    },
  }, async (request) => {
    const force = request.query.force === 'true'
    const current = await app.configService.write({ actor: actorOf(request), kinds: ['routing'] }, async (tx) => {
      const current = await find(tx, request.params.name)
      if (!force) {
        const before = await loadConfig(tx)
        const stored = before.models.find((m) => m.name === current.row.name)!
        const problems = introducedProblems(before, { ...before, models: before.models.filter((m) => m !== stored) })
        const names = new Set([stored.name, ...(stored.aliases ?? [])])
        for (const r of await tx.routingRule.findMany({ orderBy: [{ position: 'asc' }, { createdAt: 'asc' }] })) {
          const action = parse<{ type?: string; model?: string }>(r.action, {})
          if (action.type === 'model' && action.model && names.has(action.model)) problems.push(`rule "${r.name}" (${r.id}) routes to it`)
        }
        if (problems.length) throw errs.conflict(`model "${stored.name}" is still referred to: ${problems.join('; ')}. Pass ?force=true to delete it anyway.`, 'name')
      }
      await tx.model.delete({ where: { id: current.row.id } })
      return { result: current, audit: { action: 'model.delete', target: current.row.name, before: auditView(current.row, current.deployments), after: null } }
    })
    return view(current.row, current.deployments)
  })
}

export default modelRoutes
