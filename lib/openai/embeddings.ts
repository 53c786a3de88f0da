import type { EmbeddingsResponse } from './types.js'

/** A float vector as OpenAI's base64 encoding: little-endian float32 bytes. */
export function floatsToBase64(values: number[]): string {
  const buf = Buffer.alloc(values.length * 4)
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i]!, i * 4)
  return buf.toString('base64')
}

/**
 * Providers that answer with float arrays get re-encoded when the client
 * asked for base64 (the openai SDK asks for it by default).
 */
export function applyEncodingFormat(res: EmbeddingsResponse, format: unknown): EmbeddingsResponse {
  if (format !== 'base64') return res
  return { ...res, data: res.data.map((d) => (Array.isArray(d.embedding) ? { ...d, embedding: floatsToBase64(d.embedding) } : d)) }
}
