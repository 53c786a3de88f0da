// Legacy /v1/completions front door: pure translation, no Fastify.
export { completionsToChat, LEGACY_DEFAULT_MAX_TOKENS } from './request.js'
export type { CompletionsContext, CompletionsTranslation } from './request.js'
export { chatToCompletion, completionLogprobs, completionFinishReason, CompletionsStreamTranslator } from './response.js'
export type { CompletionsResponseContext } from './response.js'
export type * from './types.js'
