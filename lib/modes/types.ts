// The one interface every routing mode returns (direct, proxy, embedded),
// and the one options shape every entry point takes.
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, EmbeddingsRequest, EmbeddingsResponse } from '../openai/types.js'

/** Per-call options. */
export interface CallOptions {
  /** Aborting it cancels the upstream call (and, for a stream, ends the iteration). */
  signal?: AbortSignal
  /** Extra request headers (proxy and embedded modes), e.g. x-switchyard-strategy. */
  headers?: Record<string, string>
}

export interface Router {
  /** A chat.completion; with `stream: true`, an async iterable of chat.completion.chunk objects. */
  chat(request: ChatCompletionRequest & { stream: true }, options?: CallOptions): Promise<AsyncIterable<ChatCompletionChunk>>
  chat(request: ChatCompletionRequest & { stream?: false | null }, options?: CallOptions): Promise<ChatCompletion>
  chat(request: ChatCompletionRequest, options?: CallOptions): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>
  embeddings(request: EmbeddingsRequest, options?: CallOptions): Promise<EmbeddingsResponse>
  /** Releases everything the router holds (servers, connections, timers). */
  close(): Promise<void>
}

/**
 * What every way of running Switchyard takes: the plugin, createGateway,
 * startGateway and createRouter. The names mean what the environment
 * variables of the same meaning do (DATABASE_URL, MASTER_KEY, ...).
 */
export interface SwitchyardOptions {
  /** The gateway configuration: an object of the YAML file's shape, or a path to a YAML file. */
  config: unknown
  /** Default: a SQLite file at ./data/switchyard.db; direct mode: in memory when unset. */
  databaseUrl?: string
  masterKey?: string
  jwtSecret?: string
  redisUrl?: string
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
}
