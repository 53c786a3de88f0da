// OpenAI embeddings <-> Gemini batchEmbedContents. The batch endpoint is used
// even for one string so there is a single request and response shape.
import type { EmbeddingsRequest, EmbeddingsResponse } from '../../openai/types.js'
import type { TranslateContext } from '../types.js'
import { UpstreamError } from '../types.js'

export interface BatchEmbedContentsRequest {
  requests: Array<{ model: string; content: { parts: Array<{ text: string }> }; outputDimensionality?: number }>
}

export interface BatchEmbedContentsResponse {
  embeddings?: Array<{ values?: number[] }>
  usageMetadata?: { promptTokenCount?: number; totalTokenCount?: number }
}

/** "gemini-embedding-001" or "models/gemini-embedding-001" -> "models/gemini-embedding-001". */
export function modelResource(model: string): string {
  return model.startsWith('models/') ? model : `models/${model}`
}

function texts(input: EmbeddingsRequest['input']): string[] {
  const list = typeof input === 'string' ? [input] : input
  if (!Array.isArray(list) || list.length === 0) throw new Error('input must be a non-empty string or array of strings')
  return list.map((item, i) => {
    if (typeof item !== 'string') {
      throw new Error(`input[${i}]: gemini embeds text only; token-array inputs are not supported`)
    }
    return item
  })
}

export function geminiEmbeddingsRequest(body: EmbeddingsRequest, ctx: TranslateContext): string {
  const model = modelResource(ctx.upstreamModel)
  const req: BatchEmbedContentsRequest = {
    requests: texts(body.input).map((text) => ({
      model,
      content: { parts: [{ text }] },
      ...(body.dimensions != null ? { outputDimensionality: body.dimensions } : {}),
    })),
  }
  return JSON.stringify(req)
}

export function geminiEmbeddingsResponse(json: unknown, ctx: TranslateContext): EmbeddingsResponse {
  const res = json as BatchEmbedContentsResponse | null
  if (!res || !Array.isArray(res.embeddings)) {
    throw new UpstreamError({ status: 502, type: 'upstream_error', code: null, message: 'gemini returned no embeddings' })
  }
  // batchEmbedContents does not report token counts, so usage is 0 unless the
  // upstream includes usageMetadata; guessing would distort cost accounting.
  const promptTokens = res.usageMetadata?.promptTokenCount ?? 0
  return {
    object: 'list',
    data: res.embeddings.map((e, index) => ({ object: 'embedding', index, embedding: e.values ?? [] })),
    model: ctx.upstreamModel,
    usage: { prompt_tokens: promptTokens, total_tokens: res.usageMetadata?.totalTokenCount ?? promptTokens },
  }
}
