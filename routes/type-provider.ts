// Route handlers typed from their schemas (@sinclair/typebox 0.34). The
// package @fastify/type-provider-typebox 6 reads schemas of `typebox` 1.x and
// misreads some of ours (a union built from a list, Type.Union(
// STRATEGY_NAMES.map(Type.Literal)), becomes `never`; Type.Unsafe becomes
// `unknown`), so these two types are defined here instead of depending on it.
import type { FastifyPluginAsync, FastifyTypeProvider, RawServerDefault } from 'fastify'
import type { Static, TSchema } from '@sinclair/typebox'

export interface TypeBoxTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown
}

/** A route plugin whose handlers see typed params, querystring, body and replies. */
export type FastifyPluginAsyncTypebox<Options extends Record<string, unknown> = Record<never, never>> = FastifyPluginAsync<Options, RawServerDefault, TypeBoxTypeProvider>
