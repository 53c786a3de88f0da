// Azure OpenAI: the deployment lives in the URL and the key in `api-key`.
// The wire format is OpenAI's, so bodies pass through untouched.
import type { Endpoint, ProviderAdapter, ProviderSettings } from '../types.js'
import { openaiError } from '../openai/index.js'

export const DEFAULT_AZURE_API_VERSION = '2024-10-21'

function base(provider: ProviderSettings): string {
  if (!provider.baseUrl) throw new Error(`azure provider ${provider.name} has no baseUrl`)
  return provider.baseUrl.replace(/\/+$/, '')
}

function headers(provider: ProviderSettings): Record<string, string> {
  const out: Record<string, string> = { ...provider.headers }
  if (provider.apiKey) out['api-key'] = provider.apiKey
  return out
}

/** A path under the deployment, with the api-version query. */
function deploymentUrl(provider: ProviderSettings, upstreamModel: string, path: string): string {
  const version = encodeURIComponent(provider.apiVersion ?? DEFAULT_AZURE_API_VERSION)
  return `${base(provider)}/openai/deployments/${encodeURIComponent(upstreamModel)}/${path}?api-version=${version}`
}

/**
 * Endpoints the front doors pass requests through to: legacy completions
 * under the deployment, and the Responses API on Azure's v1 surface
 * ({baseUrl}/openai/v1/responses, the deployment named in `model`).
 */
export const azureNative = {
  completions: (provider: ProviderSettings, upstreamModel: string): Endpoint => ({ url: deploymentUrl(provider, upstreamModel, 'completions'), headers: headers(provider) }),
  responses: (provider: ProviderSettings): Endpoint => ({ url: `${base(provider)}/openai/v1/responses`, headers: headers(provider) }),
}

export const azure: ProviderAdapter = {
  type: 'azure',
  endpoint(op, provider, upstreamModel) {
    return { url: deploymentUrl(provider, upstreamModel, op === 'chat' ? 'chat/completions' : 'embeddings'), headers: headers(provider) }
  },
  error: openaiError,
}
