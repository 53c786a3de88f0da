// Front doors: client APIs other than Chat Completions, translated to and from
// the gateway's canonical chat format. Pure modules, no Fastify; the routes
// wire them around the request pipeline.
export * as anthropicMessages from './anthropic/index.js'
export * as responses from './responses/index.js'
export * as completions from './completions/index.js'
export { randomIds, sequentialIds, type IdGenerator } from './ids.js'
export type { GatewayErrorLike } from './shared.js'
