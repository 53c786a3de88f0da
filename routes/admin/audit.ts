import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { adminSecurity } from './hooks.js'
import { adminErrorResponses, listOf } from './schemas.js'

const Query = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  action: Type.Optional(Type.String({ description: 'Prefix match, e.g. routing.' })),
  before: Type.Optional(Type.String({ format: 'date-time', description: 'Entries older than this (paging)' })),
})

const Entry = Type.Object({
  id: Type.String(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.String(),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  before: Type.Unknown(),
  after: Type.Unknown(),
})

const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/audit', {
    schema: { tags: ['Admin'], summary: 'Who changed what, when, from what to what (newest first)', security: adminSecurity, querystring: Query, response: { 200: listOf(Entry), ...adminErrorResponses } },
  }, async (request) => {
    const { limit, action, before } = request.query
    const rows = await app.db.auditLog.findMany({
      where: { ...(action ? { action: { startsWith: action } } : {}), ...(before ? { createdAt: { lt: new Date(before) } } : {}) },
      orderBy: { createdAt: 'desc' },
      take: limit,
    })
    return {
      data: rows.map((r) => ({
        id: r.id,
        at: r.createdAt.toISOString(),
        actor: r.actor,
        action: r.action,
        target: r.target,
        before: r.before === null ? null : JSON.parse(r.before),
        after: r.after === null ? null : JSON.parse(r.after),
      })),
    }
  })
}

export default auditRoutes
