// OpenAI Responses API front door: pure translation, no Fastify.
export { responsesToChat, chatToolName, NAMESPACE_SEPARATOR } from './request.js'
export type { ResponsesContext, ResponsesToChatOptions, ResponsesTranslation, ToolOrigin } from './request.js'
export { chatToResponse, responseUsage, responseStatus, responseEnvelope } from './response.js'
export type { ResponsesResponseContext } from './response.js'
export { ResponsesStreamTranslator } from './stream.js'
export type { ResponsesStreamContext } from './stream.js'
export { responsesUsage, chatUsageFromResponses, ResponsesSseUsage } from './usage.js'
export type * from './types.js'
