// The package's entry point: `import ... from 'switchyard'`.
//
//   app.register(switchyard, { prefix: '/llm', config })   embedded in your Fastify app
//   await createGateway({ config })                         direct, in-process
//   await startGateway({ port, config })                    the HTTP server, in-process
//   await createRouter({ mode: 'direct' | 'proxy' | 'embedded', ... })
//
// Every one takes the same options (lib/modes/types.ts); errors are thrown as
// SwitchyardError, carrying OpenAI's status, type and code.
import type { FastifyPluginAsync } from 'fastify'
import { switchyard as core } from './app.js'
import { appConfigOf } from './modes.js'
import type { SwitchyardOptions } from './lib/modes/types.js'
import type { PipelineObserver } from './lib/pipeline/types.js'

export interface SwitchyardPluginOptions extends SwitchyardOptions {
  /** Pipeline observers of the application's own. */
  observers?: PipelineObserver[]
}

/**
 * The whole gateway (/v1, /admin, /docs, /ui, /health) as a Fastify plugin,
 * encapsulated: its hooks, parsers and error handlers apply to its own
 * routes only. Fastify's `prefix` and `logLevel` register options work as usual.
 */
export const switchyard: FastifyPluginAsync<SwitchyardPluginOptions> = async (app, opts) => {
  await core(app, { config: appConfigOf(opts), observers: opts.observers })
}
export default switchyard

export { createGateway, startGateway, createRouter, appConfigOf } from './modes.js'
export type { Gateway, GatewayOptions, StartOptions, StartedGateway, RouterOptions, EmbeddedRouter } from './modes.js'
export { createProxyRouter } from './lib/modes/proxy.js'
export type { Router, CallOptions, SwitchyardOptions } from './lib/modes/types.js'
export { GatewayError as SwitchyardError } from './lib/errors.js'
export type { PipelineObserver, Outcome, RequestContext, EntryPoint } from './lib/pipeline/types.js'
export type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EmbeddingsRequest,
  EmbeddingsResponse,
  Usage,
} from './lib/openai/types.js'
