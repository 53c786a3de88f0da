// The one list of providers. Adding a provider = a folder + a line here.
import type { ProviderAdapter, ProviderType } from './types.js'
import { openai } from './openai/index.js'
import { azure } from './azure/index.js'
import { mock } from './mock/index.js'
import { anthropic } from './anthropic/index.js'
import { gemini } from './gemini/index.js'

const adapters: Partial<Record<ProviderType, ProviderAdapter>> = {
  openai,
  azure,
  mock,
  anthropic,
  gemini,
}

export function getAdapter(type: ProviderType): ProviderAdapter {
  const adapter = adapters[type]
  if (!adapter) throw new Error(`provider type ${type} is not available`)
  return adapter
}
