// Azure OpenAI: the deployment lives in the URL and the key in `api-key`.
// The wire format is OpenAI's, so bodies pass through untouched.
import type { ProviderAdapter } from '../types.js'
import { openaiError } from '../openai/index.js'

export const DEFAULT_AZURE_API_VERSION = '2024-10-21'

export const azure: ProviderAdapter = {
  type: 'azure',
  endpoint(op, provider, upstreamModel) {
    if (!provider.baseUrl) throw new Error(`azure provider ${provider.name} has no baseUrl`)
    const base = provider.baseUrl.replace(/\/+$/, '')
    const version = encodeURIComponent(provider.apiVersion ?? DEFAULT_AZURE_API_VERSION)
    const path = op === 'chat' ? 'chat/completions' : 'embeddings'
    const headers: Record<string, string> = { ...provider.headers }
    if (provider.apiKey) headers['api-key'] = provider.apiKey
    return {
      url: `${base}/openai/deployments/${encodeURIComponent(upstreamModel)}/${path}?api-version=${version}`,
      headers,
    }
  },
  error: openaiError,
}
