// The OpenTelemetry GenAI vocabulary Switchyard uses, for spans and metrics.
//
// The gen_ai.* attribute names are "development" (incubating) in
// @opentelemetry/semantic-conventions, which advises copying such constants
// rather than importing the incubating entry point (they may change in a
// minor release). Names checked against semantic-conventions 1.45 and
// open-telemetry/semantic-conventions-genai docs/gen-ai/gen-ai-metrics.md.
import type { EntryPoint } from './types.js'
import { memoByString } from '../memo.js'

export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name'
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name'
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model'
export const ATTR_GEN_AI_REQUEST_STREAM = 'gen_ai.request.stream'
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model'
export const ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id'
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons'
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens'
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens'
export const ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens'
export const ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = 'gen_ai.usage.cache_creation.input_tokens'
export const ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = 'gen_ai.usage.reasoning.output_tokens'
export const ATTR_GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages'
export const ATTR_GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages'
export const ATTR_GEN_AI_TOKEN_TYPE = 'gen_ai.token.type'

/** gen_ai.operation.name of each entry point; undefined when no model is called (estimate). */
export function operationOf(entryPoint: EntryPoint): string | undefined {
  switch (entryPoint) {
    case 'chat':
    case 'messages':
    case 'responses':
      return 'chat'
    case 'embeddings':
      return 'embeddings'
    case 'completions':
      return 'text_completion'
    case 'estimate':
      return undefined
  }
}

// Switchyard provider types -> the spec's well-known gen_ai.provider.name values.
const PROVIDER_NAMES: Record<string, string> = {
  openai: 'openai',
  azure: 'azure.ai.openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
  vertex: 'gcp.vertex_ai',
  bedrock: 'aws.bedrock',
  mistral: 'mistral_ai',
  groq: 'groq',
  deepseek: 'deepseek',
  cohere: 'cohere',
  xai: 'x_ai',
  perplexity: 'perplexity',
}

/** gen_ai.provider.name for a provider type; types the spec does not list keep their own name. */
export function providerNameOf(providerType: string | undefined): string {
  if (!providerType) return ''
  return PROVIDER_NAMES[providerType] ?? providerType
}

/** server.address and server.port of an upstream URL (default ports filled in); memoised, the result is frozen. */
export const serverOf: (url: string) => Readonly<{ address: string; port: number }> | undefined = memoByString((url) => {
  try {
    const u = new URL(url)
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : u.protocol === 'http:' ? 80 : 0
    // IPv6 hosts come bracketed from URL; the attribute carries the bare address.
    return Object.freeze({ address: u.hostname.replace(/^\[(.*)\]$/, '$1'), port })
  } catch {
    return undefined
  }
})
