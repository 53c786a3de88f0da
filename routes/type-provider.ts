// Route handlers typed from their schemas. @fastify/type-provider-typebox 6
// (the installed version) reads schemas of `typebox` 1.x; Switchyard's are
// @sinclair/typebox 0.34, of which it misreads some: a union built from a
// list (Type.Union(STRATEGY_NAMES.map(Type.Literal))) becomes `never`,
// Type.Unsafe becomes `unknown`. These are the two types version 5 of that
// package defines for @sinclair/typebox (its peer range ends at 0.34); with
// it pinned (^5.2), this file can re-export them from there.
import type { FastifyPluginAsync, FastifyTypeProvider, RawServerDefault } from 'fastify'
import type { Static, TSchema } from '@sinclair/typebox'

export interface TypeBoxTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown
}

/** A route plugin whose handlers see typed params, querystring, body and replies. */
export type FastifyPluginAsyncTypebox<Options extends Record<string, unknown> = Record<never, never>> = FastifyPluginAsync<Options, RawServerDefault, TypeBoxTypeProvider>
