// Providers: the upstream accounts deployments call. Writes mark the row as
// admin-owned (the YAML seed leaves it alone from then on) and reload routing.
// API keys are never returned: `apiKeySet`, plus `apiKeyRef` for a bare
// ${VAR} reference.
import type { FastifyInstance } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { adminErrors as errs } from '../../lib/admin/errors.js'
import {
  assertConfigUnchanged, envReferenceProblems, introducedProblems, isEnvRef, maskHeaders, originOf, providerKeyProblems, providerUpstreamProblems, raise,
  restoreSecrets, rethrowNonBodyValidation, secretsFollowingProblems, SET, validate,
} from '../../lib/admin/config-state.js'
import { ProviderConfigSchema, type ProviderConfig } from '../../lib/config/gateway-config.js'
import { keyVarPolicy } from '../../lib/security/key-vars.js'
import { upstreamPolicy } from '../../lib/security/upstream-guard.js'
import { loadConfig, providerRow } from '../../lib/storage/config-store.js'
import { actorOf, adminSecurity } from './hooks.js'
import { adminErrorResponses, listOf } from './schemas.js'

const NameParams = Type.Object({ name: Type.String({ minLength: 1 }) })
const ForceQuery = Type.Object({
  force: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'true: also delete the deployments that use it' })),
})

const P = ProviderConfigSchema.properties
const orNull = <T extends TSchema>(s: T) => Type.Optional(Type.Union([s, Type.Null()]))
const UpdateProvider = Type.Object(
  {
    type: Type.Optional(P.type),
    baseUrl: orNull(Type.String()),
    apiKey: orNull(Type.String({ description: 'A literal key or a ${VAR} reference (PROVIDER_KEY_VARS); null removes it; "[set]" keeps the stored one. Required again when baseUrl (or type) moves the provider to another origin' })),
    apiVersion: orNull(Type.String()),
    headers: orNull(Type.Record(Type.String(), Type.String())),
    timeouts: orNull(Type.Unknown()),
    maxConnections: orNull(Type.Integer({ minimum: 1 })),
    responsesApi: orNull(Type.Boolean({ description: 'openai / azure: /v1/responses passes through to {baseUrl}/responses' })),
  },
  { additionalProperties: false, description: 'Fields to change; null removes an optional field. The name cannot change.' },
)

const ProviderView = Type.Object({
  name: Type.String(),
  type: Type.String(),
  baseUrl: Type.Union([Type.String(), Type.Null()]),
  apiKeySet: Type.Boolean({ description: 'Whether an API key (or reference) is configured' }),
  apiKeyRef: Type.Union([Type.String(), Type.Null()], { description: 'The ${VAR} reference when the key is one; literal keys are never shown' }),
  apiVersion: Type.Union([Type.String(), Type.Null()]),
  headers: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()], { description: 'Credential-like header values read "[set]"' }),
  timeouts: Type.Unknown(),
  maxConnections: Type.Union([Type.Integer(), Type.Null()]),
  responsesApi: Type.Boolean({ description: 'The server has the Responses API: /v1/responses passes through' }),
  deployments: Type.Integer({ description: 'Number of deployments using this provider' }),
  source: Type.String({ description: 'yaml or admin (admin rows are left alone by the YAML seed)' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
})

type Row = Awaited<ReturnType<FastifyInstance['db']['provider']['findUniqueOrThrow']>>

function configOf(row: Row): ProviderConfig {
  let options: Partial<ProviderConfig> = {}
  try {
    options = JSON.parse(row.options) as Partial<ProviderConfig>
  } catch {
    // keep {}
  }
  const out: Record<string, unknown> = { name: row.name, type: row.type, baseUrl: row.baseUrl ?? undefined, apiKey: row.apiKey ?? undefined, ...options }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as ProviderConfig
}

function view(row: Row, deployments: number) {
  const c = configOf(row)
  return {
    name: row.name,
    type: row.type,
    baseUrl: row.baseUrl,
    apiKeySet: row.apiKey != null && row.apiKey !== '',
    apiKeyRef: row.apiKey != null && isEnvRef(row.apiKey) ? row.apiKey : null,
    apiVersion: c.apiVersion ?? null,
    headers: maskHeaders(c.headers, SET) ?? null,
    timeouts: c.timeouts ?? null,
    maxConnections: c.maxConnections ?? null,
    responsesApi: c.responsesApi === true,
    deployments,
    source: row.source,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

/** What the audit log keeps: the view, without counts or timestamps (secrets already masked). */
function auditView(row: Row) {
  const { deployments: _d, createdAt: _c, updatedAt: _u, apiKeyRef: _r, apiKeySet, ...rest } = view(row, 0)
  return { ...rest, apiKey: apiKeySet ? SET : null }
}

const providerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Bodies are validated in the handlers (attachValidation); querystring and params are not.
  app.addHook('preHandler', async (request) => rethrowNonBodyValidation(request))
  const keyPolicy = keyVarPolicy(app.config.env.PROVIDER_KEY_VARS)
  const upstream = upstreamPolicy(app.config.env.ADMIN_UPSTREAM_ALLOW)
  const counts = async () => {
    const groups = await app.db.deployment.groupBy({ by: ['providerId'], _count: { _all: true } })
    return new Map(groups.map((g) => [g.providerId, g._count._all]))
  }
  const find = async (db: Pick<FastifyInstance['db'], 'provider'>, name: string) => {
    const row = await db.provider.findUnique({ where: { name } })
    if (!row) throw errs.notFound('provider', name)
    return row
  }

  app.get('/providers', {
    schema: { tags: ['Admin'], summary: 'List providers (API keys are never returned)', security: adminSecurity, response: { 200: listOf(ProviderView), ...adminErrorResponses } },
  }, async () => {
    const [rows, n] = await Promise.all([app.db.provider.findMany({ orderBy: { createdAt: 'asc' } }), counts()])
    return { data: rows.map((r) => view(r, n.get(r.id) ?? 0)) }
  })

  app.get('/providers/:name', {
    schema: { tags: ['Admin'], summary: 'One provider', security: adminSecurity, params: NameParams, response: { 200: ProviderView, ...adminErrorResponses } },
  }, async (request) => {
    const row = await find(app.db, request.params.name)
    return view(row, await app.db.deployment.count({ where: { providerId: row.id } }))
  })

  // Writes check the new provider's address by resolving its host name, which
  // is no work to do inside a transaction: they check against the stored
  // configuration first, then the transaction makes sure it is still the same.
  app.post('/providers', {
    schema: {
      tags: ['Admin'],
      summary: 'Create a provider (the YAML `providers[]` shape)',
      security: adminSecurity,
      body: ProviderConfigSchema,
      response: { 201: ProviderView, ...adminErrorResponses },
    },
    attachValidation: true,
  }, async (request, reply) => {
    const body = validate(ProviderConfigSchema, request.body)
    raise(restoreSecrets(body as Record<string, unknown>, undefined))
    raise(envReferenceProblems(body))
    raise(providerKeyProblems(body, keyPolicy))
    if (await app.db.provider.findUnique({ where: { name: body.name } })) throw errs.conflict(`name: provider "${body.name}" already exists`, 'name')
    const before = await loadConfig(app.db)
    raise(introducedProblems(before, { ...before, providers: [...before.providers, body] }, { kind: 'providers', name: body.name }))
    raise(await providerUpstreamProblems(body, upstream))
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['routing'] }, async (tx) => {
      await assertConfigUnchanged(tx, before)
      const row = await tx.provider.create({ data: providerRow(body, 'admin') })
      return { result: row, audit: { action: 'provider.create', target: row.name, before: null, after: auditView(row) } }
    })
    return reply.code(201).send(view(row, 0))
  })

  app.patch('/providers/:name', {
    schema: {
      tags: ['Admin'],
      summary: 'Change a provider: type, base URL, API key, headers, timeouts...',
      security: adminSecurity,
      params: NameParams,
      body: UpdateProvider,
      response: { 200: ProviderView, ...adminErrorResponses },
    },
    attachValidation: true,
  }, async (request) => {
    const patch = validate(UpdateProvider, request.body)
    const current = await find(app.db, request.params.name)
    const stored = configOf(current)
    // As sent, before placeholders are replaced by the stored secrets.
    const sent = { ...patch, headers: patch.headers ? { ...patch.headers } : patch.headers }
    raise(restoreSecrets(patch as Record<string, unknown>, stored))
    raise(envReferenceProblems(patch))
    const merged: Record<string, unknown> = { ...stored }
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete merged[k]
      else merged[k] = v
    }
    const next = validate(ProviderConfigSchema, merged)
    const before = await loadConfig(app.db)
    const after = { ...before, providers: [...before.providers.filter((p) => p.name !== next.name), next] }
    raise([
      ...introducedProblems(before, after, { kind: 'providers', name: next.name }),
      ...secretsFollowingProblems(stored, sent, originOf(next), 'patch'),
      ...providerKeyProblems(next, keyPolicy),
    ])
    // The row becomes admin-owned, so its destination is checked even when unchanged.
    raise(await providerUpstreamProblems(next, upstream))
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['routing'] }, async (tx) => {
      // The configuration includes the stored secrets the merge started from.
      await assertConfigUnchanged(tx, before)
      const row = await tx.provider.update({ where: { id: current.id }, data: providerRow(next, 'admin') })
      return { result: row, audit: { action: 'provider.update', target: row.name, before: auditView(current), after: auditView(row) } }
    })
    return view(row, await app.db.deployment.count({ where: { providerId: row.id } }))
  })

  app.delete('/providers/:name', {
    schema: {
      tags: ['Admin'],
      summary: 'Delete a provider; 409 while deployments use it unless ?force=true, which deletes them too',
      security: adminSecurity,
      params: NameParams,
      querystring: ForceQuery,
      response: { 200: ProviderView, ...adminErrorResponses },
    },
  }, async (request) => {
    const force = request.query.force === 'true'
    return app.configService.write({ actor: actorOf(request), kinds: ['routing'] }, async (tx) => {
      const row = await find(tx, request.params.name)
      const deployments = await tx.deployment.findMany({ where: { providerId: row.id }, select: { id: true } })
      if (!force) {
        const problems: string[] = []
        if (deployments.length) {
          problems.push(`provider "${row.name}" is used by ${deployments.length} deployment(s): ${deployments.map((d) => d.id).join(', ')}`)
        }
        const before = await loadConfig(tx)
        const after = {
          ...before,
          providers: before.providers.filter((p) => p.name !== row.name),
          models: before.models.map((m) => ({ ...m, deployments: m.deployments.filter((d) => d.provider !== row.name) })),
        }
        problems.push(...introducedProblems(before, after))
        if (problems.length) throw errs.conflict(`${problems.join('; ')}. Pass ?force=true to delete it anyway (its deployments go with it).`, 'name')
      }
      await tx.provider.delete({ where: { id: row.id } })
      return {
        result: view(row, deployments.length),
        audit: { action: 'provider.delete', target: row.name, before: auditView(row), after: force ? { deletedDeployments: deployments.map((d) => d.id) } : null },
      }
    })
  })
}

export default providerRoutes
