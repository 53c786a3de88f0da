// Price table: USD per 1M tokens by provider type + upstream model id. Rows
// come from the catalog (source "catalog") or from this API (source
// "admin"). There is one row per (provider type, model): an admin price
// replaces the catalog row, and deleting it puts the catalog price back (or
// removes the row when the catalog has no price). A deployment's own pricing
// still wins over this table. Model ids may contain '/': URL-encode them
// (/admin/pricing/openai/org%2Fmodel).
import type { FastifyInstance } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { Type } from '@sinclair/typebox'
import { randomUUID } from 'node:crypto'
import { adminErrors as errs } from '../../lib/admin/errors.js'
import { lookupCatalogPrice } from '../../lib/cost/catalog.js'
import { PROVIDER_TYPES } from '../../lib/providers/types.js'
import { actorOf, adminSecurity } from './hooks.js'
import { adminErrorResponses } from './schemas.js'

const ProviderType = Type.Union(PROVIDER_TYPES.map((t) => Type.Literal(t)))

const ListQuery = Type.Object({
  providerType: Type.Optional(Type.String({ description: 'Exact provider type, e.g. openai' })),
  model: Type.Optional(Type.String({ description: 'Exact upstream model id' })),
  search: Type.Optional(Type.String({ description: 'Substring of the model id' })),
  source: Type.Optional(Type.Union([Type.Literal('catalog'), Type.Literal('admin')])),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: '1-1000, default 100' })),
  offset: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'Default 0' })),
})

const KeyParams = Type.Object({
  providerType: Type.String({ minLength: 1 }),
  model: Type.String({ minLength: 1, description: 'Upstream model id, URL-encoded' }),
})

const rate = (description: string) => Type.Number({ minimum: 0, description })
const SetPrice = Type.Object(
  {
    input: rate('USD per 1M input tokens'),
    output: rate('USD per 1M output tokens'),
    cacheRead: Type.Optional(Type.Union([rate('USD per 1M cached input tokens read'), Type.Null()])),
    cacheWrite: Type.Optional(Type.Union([rate('USD per 1M input tokens written to the cache'), Type.Null()])),
  },
  { additionalProperties: false },
)

const PriceView = Type.Object({
  providerType: Type.String(),
  model: Type.String(),
  input: Type.Number(),
  output: Type.Number(),
  cacheRead: Type.Union([Type.Number(), Type.Null()]),
  cacheWrite: Type.Union([Type.Number(), Type.Null()]),
  source: Type.String({ description: 'catalog or admin' }),
  updatedAt: Type.String({ format: 'date-time' }),
})
const PricePage = Type.Object({ data: Type.Array(PriceView), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() })

type Row = Awaited<ReturnType<FastifyInstance['db']['priceEntry']['findUniqueOrThrow']>>
const view = (r: Row) => ({
  providerType: r.providerType,
  model: r.model,
  input: r.input,
  output: r.output,
  cacheRead: r.cacheRead,
  cacheWrite: r.cacheWrite,
  source: r.source,
  updatedAt: r.updatedAt.toISOString(),
})
const auditView = (r: Row | null) => (r ? { input: r.input, output: r.output, cacheRead: r.cacheRead, cacheWrite: r.cacheWrite, source: r.source } : null)

function checkProviderType(type: string): void {
  if (!(PROVIDER_TYPES as readonly string[]).includes(type)) {
    throw errs.invalid(`providerType: unknown provider type "${type}": expected one of ${PROVIDER_TYPES.map((t) => JSON.stringify(t)).join(', ')}`, 'providerType')
  }
}

const pricingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/pricing', {
    schema: { tags: ['Admin'], summary: 'Stored prices (catalog and admin), paged', security: adminSecurity, querystring: ListQuery, response: { 200: PricePage, ...adminErrorResponses } },
  }, async (request) => {
    const q = request.query
    const limit = q.limit === undefined ? 100 : Number(q.limit)
    const offset = q.offset === undefined ? 0 : Number(q.offset)
    if (limit < 1 || limit > 1000) throw errs.invalid('limit: must be between 1 and 1000', 'limit')
    const where = {
      ...(q.providerType ? { providerType: q.providerType } : {}),
      ...(q.model ? { model: q.model } : q.search ? { model: { contains: q.search } } : {}),
      ...(q.source ? { source: q.source } : {}),
    }
    const [rows, total] = await Promise.all([
      app.db.priceEntry.findMany({ where, orderBy: [{ providerType: 'asc' }, { model: 'asc' }], take: limit, skip: offset }),
      app.db.priceEntry.count({ where }),
    ])
    return { data: rows.map(view), total, limit, offset }
  })

  app.get('/pricing/:providerType/:model', {
    schema: { tags: ['Admin'], summary: 'The stored price of one model', security: adminSecurity, params: KeyParams, response: { 200: PriceView, ...adminErrorResponses } },
  }, async (request) => {
    const { providerType, model } = request.params
    const row = await app.db.priceEntry.findUnique({ where: { providerType_model: { providerType, model } } })
    if (!row) throw errs.notFound('price', `${providerType}/${model}`)
    return view(row)
  })

  app.put('/pricing/:providerType/:model', {
    schema: {
      tags: ['Admin'],
      summary: 'Set an admin price for a model (replaces the catalog price); applies to the next request',
      security: adminSecurity,
      params: KeyParams,
      body: SetPrice,
      response: { 200: PriceView, ...adminErrorResponses },
    },
  }, async (request) => {
    const { providerType, model } = request.params
    checkProviderType(providerType)
    const b = request.body
    const data = { input: b.input, output: b.output, cacheRead: b.cacheRead ?? null, cacheWrite: b.cacheWrite ?? null, source: 'admin' }
    const row = await app.configService.write({ actor: actorOf(request), kinds: ['pricing'] }, async (tx) => {
      const before = await tx.priceEntry.findUnique({ where: { providerType_model: { providerType, model } } })
      const row = await tx.priceEntry.upsert({
        where: { providerType_model: { providerType, model } },
        create: { id: randomUUID(), providerType, model, ...data },
        update: data,
      })
      return { result: row, audit: { action: 'pricing.set', target: `${providerType}/${model}`, before: auditView(before), after: auditView(row) } }
    })
    return view(row)
  })

  app.delete('/pricing/:providerType/:model', {
    schema: {
      tags: ['Admin'],
      summary: 'Remove an admin price: the catalog price applies again (catalog rows cannot be deleted: 409)',
      security: adminSecurity,
      params: KeyParams,
      response: { 200: Type.Object({ removed: PriceView, current: Type.Union([PriceView, Type.Null()], { description: 'The catalog price now in force, if any' }) }), ...adminErrorResponses },
    },
  }, async (request) => {
    const { providerType, model } = request.params
    return app.configService.write({ actor: actorOf(request), kinds: ['pricing'] }, async (tx) => {
      const row = await tx.priceEntry.findUnique({ where: { providerType_model: { providerType, model } } })
      if (!row) throw errs.notFound('price', `${providerType}/${model}`)
      if (row.source !== 'admin') throw errs.conflict(`price "${providerType}/${model}" comes from the catalog and cannot be deleted; PUT an admin price to override it`, 'model')
      const catalog = lookupCatalogPrice(providerType, model)
      const current = catalog
        ? await tx.priceEntry.update({
            where: { id: row.id },
            data: { input: catalog.input, output: catalog.output, cacheRead: catalog.cacheRead ?? null, cacheWrite: catalog.cacheWrite ?? null, source: 'catalog' },
          })
        : null
      if (!current) await tx.priceEntry.delete({ where: { id: row.id } })
      return {
        result: { removed: view(row), current: current ? view(current) : null },
        audit: { action: 'pricing.delete', target: `${providerType}/${model}`, before: auditView(row), after: auditView(current) },
      }
    })
  })
}

export default pricingRoutes
