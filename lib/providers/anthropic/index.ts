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

function endpoint(op: string, provider: ProviderSettings): Endpoint {
  if (op !== 'chat') throw new Error(`Anthropic has no ${op} API; route ${op} to another provider (provider ${provider.name})`)
  const headers: Record<string, string> = {}
  if (provider.apiKey) headers['x-api-key'] = provider.apiKey
  headers['anthropic-version'] = provider.apiVersion ?? DEFAULT_VERSION
  return { url: messagesUrl(provider.baseUrl), headers: { ...headers, ...provider.headers } }
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
