// The contract every provider module implements. A provider is a folder under
// lib/providers/<type>/ whose index.ts exports a ProviderAdapter, plus one line
// in lib/providers/registry.ts. Transforms are pure functions of their inputs:
// no I/O, no Fastify, so they are tested directly against wire fixtures.

import type { SseEvent } from '../sse.js'
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EmbeddingsRequest,
  EmbeddingsResponse,
} from '../openai/types.js'

export const PROVIDER_TYPES = ['openai', 'azure', 'anthropic', 'gemini', 'mock'] as const
export type ProviderType = (typeof PROVIDER_TYPES)[number]

/** A configured provider, secrets resolved. */
export interface ProviderSettings {
  name: string
  type: ProviderType
  baseUrl?: string
  apiKey?: string
  /** Azure api-version, Anthropic anthropic-version... */
  apiVersion?: string
  /** Extra headers sent on every upstream call. */
  headers?: Record<string, string>
  /** openai / azure: the server has the Responses API; /v1/responses passes through. */
  responsesApi?: boolean
}

export type Operation = 'chat' | 'embeddings'

export interface Endpoint {
  /** Absolute URL of the upstream call. */
  url: string
  /** Headers to send, auth included. content-type is added by the caller. */
  headers: Record<string, string>
}

export interface TranslateContext {
  /** Upstream model id the deployment targets. */
  upstreamModel: string
  /** The request id the gateway assigned (used for synthesized response ids). */
  requestId: string
  /** Unix seconds; used as `created` in synthesized responses. */
  created: number
}

/** Stateful per-stream translator from provider SSE events to OpenAI chunks. */
export interface StreamTranslator {
  /**
   * Consumes one upstream SSE event and returns the OpenAI chunks it maps to
   * (often none). Throws UpstreamError when the upstream reports an error
   * in-band (e.g. Anthropic's `event: error`).
   */
  push(event: SseEvent): ChatCompletionChunk[]
  /**
   * Called once when the upstream stream has ended. Returns the trailing
   * chunks: always a final usage chunk (`choices: []`, `usage`) when the
   * provider reported usage; the gateway strips it when the client did not
   * ask for `stream_options.include_usage`.
   */
  finish(): ChatCompletionChunk[]
  /** True once the provider signalled the logical end of the message. */
  readonly done: boolean
}

export interface ChatTranslator {
  /** OpenAI request body -> provider request body (JSON text). */
  request(body: ChatCompletionRequest, ctx: TranslateContext): string
  /** Provider JSON response (already parsed) -> OpenAI chat.completion. */
  response(json: unknown, ctx: TranslateContext): ChatCompletion
  /** A new translator for one streamed response. */
  stream(ctx: TranslateContext, request: ChatCompletionRequest): StreamTranslator
}

export interface EmbeddingsTranslator {
  request(body: EmbeddingsRequest, ctx: TranslateContext): string
  response(json: unknown, ctx: TranslateContext): EmbeddingsResponse
}

/** An upstream failure in OpenAI's terms. */
export interface ErrorInfo {
  /** HTTP status to answer the client with. */
  status: number
  /** OpenAI error `type`, e.g. invalid_request_error, rate_limit_error, server_error. */
  type: string
  code: string | null
  message: string
  param?: string | null
  /** Seconds, from the upstream's retry-after when it gave one. */
  retryAfterSec?: number
}

/** A provider answered in-process (the built-in mock): no HTTP at all. */
export interface LocalBackend {
  chat(body: ChatCompletionRequest, ctx: TranslateContext): ChatCompletion
  /** The chunks of a streamed answer, usage chunk last. */
  chatStream(body: ChatCompletionRequest, ctx: TranslateContext): ChatCompletionChunk[]
  embeddings(body: EmbeddingsRequest, ctx: TranslateContext): EmbeddingsResponse
}

export interface ProviderAdapter {
  type: ProviderType
  /** Set for providers served in-process; endpoint() is then never called. */
  local?: LocalBackend
  /** URL and auth headers for one operation on one deployment. */
  endpoint(op: Operation, provider: ProviderSettings, upstreamModel: string, stream: boolean): Endpoint
  /**
   * Absent for OpenAI-compatible providers: their body is forwarded byte for
   * byte with only `model` rewritten, and their responses are passed through.
   */
  chat?: ChatTranslator
  embeddings?: EmbeddingsTranslator
  /** Maps a non-2xx upstream answer to an OpenAI error. */
  error(status: number, body: string, headers: Record<string, string | string[] | undefined>): ErrorInfo
}

export class UpstreamError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message)
    this.name = 'UpstreamError'
  }
}
