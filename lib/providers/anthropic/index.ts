// Anthropic Messages API (https://api.anthropic.com/v1/messages).
import type { Endpoint, ProviderAdapter, ProviderSettings } from '../types.js'
import { anthropicError } from './errors.js'
import { anthropicRequest } from './request.js'
import { anthropicResponse } from './response.js'
import { AnthropicStreamTranslator } from './stream.js'

const DEFAULT_BASE_URL = 'https://api.anthropic.com'
const DEFAULT_VERSION = '2023-06-01'

/** Accepts a base URL given with or without the trailing `/v1`. */
export function messagesUrl(baseUrl: string | undefined): string {
  const base = (baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')
  return base.endsWith('/v1') ? `${base}/messages` : `${base}/v1/messages`
}

function authHeaders(provider: ProviderSettings): Record<string, string> {
  const headers: Record<string, string> = {}
  if (provider.apiKey) headers['x-api-key'] = provider.apiKey
  headers['anthropic-version'] = provider.apiVersion ?? DEFAULT_VERSION
  return { ...headers, ...provider.headers }
}

function endpoint(op: string, provider: ProviderSettings): Endpoint {
  if (op !== 'chat') throw new Error(`Anthropic has no ${op} API; route ${op} to another provider (provider ${provider.name})`)
  return { url: messagesUrl(provider.baseUrl), headers: authHeaders(provider) }
}

/**
 * Anthropic's own endpoints, for requests the /v1/messages front door passes
 * through as sent. The provider's configured anthropic-version is sent (not
 * the client's): it is the one the operator knows the upstream accepts.
 */
export const anthropicNative = {
  messages: (provider: ProviderSettings): Endpoint => ({ url: messagesUrl(provider.baseUrl), headers: authHeaders(provider) }),
  countTokens: (provider: ProviderSettings): Endpoint => ({ url: `${messagesUrl(provider.baseUrl)}/count_tokens`, headers: authHeaders(provider) }),
}

export const anthropic: ProviderAdapter = {
  type: 'anthropic',
  endpoint,
  chat: {
    request: anthropicRequest,
    response: anthropicResponse,
    stream: (ctx) => new AnthropicStreamTranslator(ctx),
  },
  error: anthropicError,
}
