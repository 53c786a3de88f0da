// Google AI Gemini API (v1beta, API-key auth). Bodies are translated both ways;
// see request.ts, response.ts, stream.ts, embeddings.ts and errors.ts.
import type { ProviderAdapter } from '../types.js'
import { geminiChatRequest } from './request.js'
import { geminiChatResponse } from './response.js'
import { GeminiStreamTranslator } from './stream.js'
import { geminiEmbeddingsRequest, geminiEmbeddingsResponse } from './embeddings.js'
import { geminiError } from './errors.js'

export const DEFAULT_GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta'

export const gemini: ProviderAdapter = {
  type: 'gemini',
  endpoint(op, provider, upstreamModel, stream) {
    const base = (provider.baseUrl ?? DEFAULT_GEMINI_BASE_URL).replace(/\/+$/, '')
    const model = encodeURIComponent(upstreamModel.replace(/^models\//, ''))
    const method = op === 'embeddings' ? 'batchEmbedContents' : stream ? 'streamGenerateContent?alt=sse' : 'generateContent'
    const headers: Record<string, string> = {}
    if (provider.apiKey) headers['x-goog-api-key'] = provider.apiKey
    return { url: `${base}/models/${model}:${method}`, headers: { ...headers, ...provider.headers } }
  },
  chat: {
    request: (body) => geminiChatRequest(body),
    response: geminiChatResponse,
    stream: (ctx) => new GeminiStreamTranslator(ctx),
  },
  embeddings: {
    request: geminiEmbeddingsRequest,
    response: geminiEmbeddingsResponse,
  },
  error: geminiError,
}
