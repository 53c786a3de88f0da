import type { FastifyInstance } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { Type } from '@sinclair/typebox'
import { randomUUID } from 'node:crypto'
import { adminErrors as errs } from '../../lib/admin/errors.js'
import { generateKey, hashKey, keyPrefix } from '../../lib/keys/keys.js'
import { actorOf, adminSecurity } from './hooks.js'
import { adminErrorResponses, IdParams, listOf } from './schemas.js'

const KeyFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  tenant: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()])),
  allowedModels: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Model names or globs; empty = all' })),
  allowStrategyOverride: Type.Optional(Type.Boolean({ description: 'May send x-switchyard-strategy' })),
  rpmLimit: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
  tpmLimit: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
  budgetDailyUsd: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()])),
  budgetMonthlyUsd: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()])),
}
const CreateKey = Type.Object(KeyFields, { additionalProperties: false })
const UpdateKey = Type.Partial(Type.Object(KeyFields), { additionalProperties: false })

const KeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'First characters of the key, to recognise it' }),
  tenant: Type.Union([Type.String(), Type.Null()]),
  allowedModels: Type.Array(Type.String()),
  allowStrategyOverride: Type.Boolean(),
  rpmLimit: Type.Union([Type.Integer(), Type.Null()]),
  tpmLimit: Type.Union([Type.Integer(), Type.Null()]),
  budgetDailyUsd: Type.Union([Type.Number(), Type.Null()]),
  budgetMonthlyUsd: Type.Union([Type.Number(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})
const CreatedKey = Type.Intersect([KeyView, Type.Object({ key: Type.String({ description: 'Shown once; only its hash is stored' }) })])

type Row = Awaited<ReturnType<FastifyInstance['db']['apiKey']['findUniqueOrThrow']>>
const view = (r: Row) => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  tenant: r.tenant,
  allowedModels: JSON.parse(r.allowedModels) as string[],
  allowStrategyOverride: r.allowStrategyOverride,
  rpmLimit: r.rpmLimit,
  tpmLimit: r.tpmLimit,
  budgetDailyUsd: r.budgetDailyUsd,
  budgetMonthlyUsd: r.budgetMonthlyUsd,
  createdAt: r.createdAt.toISOString(),
  revokedAt: r.revokedAt?.toISOString() ?? null,
})

const keyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/keys', {
    schema: { tags: ['Admin'], summary: 'List gateway keys (never the keys themselves)', security: adminSecurity, response: { 200: listOf(KeyView), ...adminErrorResponses } },
  }, async () => ({ data: (await app.db.apiKey.findMany({ orderBy: { createdAt: 'asc' } })).map(view) }))

  app.get('/keys/:id', {
    schema: { tags: ['Admin'], summary: 'One gateway key', security: adminSecurity, params: IdParams, response: { 200: KeyView, ...adminErrorResponses } },
  }, async (request) => {
    const row = await app.db.apiKey.findUnique({ where: { id: request.params.id } })
    if (!row) throw errs.notFound('key', request.params.id)
    return view(row)
  })

  app.post('/keys', {
    schema: { tags: ['Admin'], summary: 'Create a gateway key: the key is in this response only', security: adminSecurity, body: CreateKey, response: { 201: CreatedKey, ...adminErrorResponses } },
  }, async (request, reply) => {
    const key = generateKey()
    const b = request.body
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['keys'] }, async (tx) => {
      const row = await tx.apiKey.create({
        data: {
          id: `key_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
          name: b.name,
          hash: hashKey(key),
          prefix: keyPrefix(key),
          tenant: b.tenant ?? null,
          allowedModels: JSON.stringify(b.allowedModels ?? []),
          allowStrategyOverride: b.allowStrategyOverride ?? false,
          rpmLimit: b.rpmLimit ?? null,
          tpmLimit: b.tpmLimit ?? null,
          budgetDailyUsd: b.budgetDailyUsd ?? null,
          budgetMonthlyUsd: b.budgetMonthlyUsd ?? null,
        },
      })
      return { result: row, audit: { action: 'key.create', target: row.id, before: null, after: view(row) } }
    })
    return reply.code(201).send({ ...view(row), key })
  })

  app.patch('/keys/:id', {
    schema: { tags: ['Admin'], summary: 'Change a key\'s name, tenant, models, limits or budgets', security: adminSecurity, params: IdParams, body: UpdateKey, response: { 200: KeyView, ...adminErrorResponses } },
  }, async (request) => {
    const { allowedModels, ...rest } = request.body
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['keys'] }, async (tx) => {
      const before = await tx.apiKey.findUnique({ where: { id: request.params.id } })
      if (!before) throw errs.notFound('key', request.params.id)
      const row = await tx.apiKey.update({
        where: { id: before.id },
        data: { ...rest, ...(allowedModels ? { allowedModels: JSON.stringify(allowedModels) } : {}) },
      })
      return { result: row, audit: { action: 'key.update', target: row.id, before: view(before), after: view(row) } }
    })
    return view(row)
  })

  app.delete('/keys/:id', {
    schema: { tags: ['Admin'], summary: 'Revoke a key (kept for the usage history)', security: adminSecurity, params: IdParams, response: { 200: KeyView, ...adminErrorResponses } },
  }, async (request) => {
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['keys'] }, async (tx) => {
      const before = await tx.apiKey.findUnique({ where: { id: request.params.id } })
      if (!before) throw errs.notFound('key', request.params.id)
      const row = await tx.apiKey.update({ where: { id: before.id }, data: { revokedAt: before.revokedAt ?? new Date() } })
      return { result: row, audit: { action: 'key.revoke', target: row.id, before: view(before), after: view(row) } }
    })
    return view(row)
  })
}

export default keyRoutes
