// POST /v1/messages/count_tokens answered by the gateway itself: the request
// is translated like a message request and counted with lib/cost/tokens.ts.
// For Anthropic deployments the route may forward to Anthropic's own endpoint
// instead; this is the answer for every other backend.
import { countPromptTokens, type TokenCountMethod } from '../../cost/tokens.js'
import { messagesToChat } from './request.js'
import type { CountTokensResponse, MessagesRequest } from './types.js'

export interface CountTokensTarget {
  /** Provider type of the deployment the model resolves to ('anthropic' counts like Claude: approximation). */
  providerType?: string
  /** Upstream model id; picks the tokenizer for OpenAI-family models. */
  upstreamModel?: string
}

export function countTokens(
  req: Omit<MessagesRequest, 'max_tokens'> & { max_tokens?: number },
  target: CountTokensTarget = {},
): CountTokensResponse & { method: TokenCountMethod } {
  // count_tokens takes no max_tokens; the translation does not need one either.
  const { chat } = messagesToChat({ max_tokens: 1, ...req } as MessagesRequest)
  const counted = countPromptTokens(chat, target.providerType ?? 'anthropic', target.upstreamModel ?? chat.model)
  return { input_tokens: counted.tokens, method: counted.method }
}
