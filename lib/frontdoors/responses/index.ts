// OpenAI Responses API front door: translation, stored conversations; no Fastify.
export { responsesToChat, chatToolName, NAMESPACE_SEPARATOR } from './request.js'
export type { ResponsesContext, ResponsesToChatOptions, ResponsesTranslation, ToolOrigin } from './request.js'
export { chatToResponse, responseUsage, responseStatus, responseEnvelope } from './response.js'
export type { ResponsesResponseContext } from './response.js'
export { ResponsesStreamTranslator } from './stream.js'
export type { ResponsesStreamContext } from './stream.js'
export { responsesUsage, chatUsageFromResponses, ResponsesSseUsage } from './usage.js'
export type * from './types.js'
export { chatSseToResponses } from './chat-sse.js'
export type { ChatSseOptions } from './chat-sse.js'
export {
  inputItems, inputItemList, loadHistory, mayAccess, nextDepth, ownerOf, storedResponse, storedRow,
  MAX_CHAIN_RESPONSES, MAX_HISTORY_CHARS,
} from './conversation.js'
export type { History, ItemList, ItemListQuery, Owner, StoredResponseRow } from './conversation.js'
export { responsesErrors } from './errors.js'
export { nativeBody, nativeSseToClient, patchNativeResponse, responsesNativeJob, ResponsesNativeWatcher, speaksResponses } from './native.js'
export type { ResponsesNativeOptions } from './native.js'
