// Legacy completions request -> canonical chat request, for backends that have
// no /v1/completions (OpenAI-compatible backends get the request as sent).
// The prompt becomes one user message, so a chat model answers it rather than
// continuing the text; that is the nature of the translation.
//
//  - prompt: a string or an array of one string; several prompts (batching)
//    and token-id prompts are a 400, since the answer for each would need its
//    own call;
//  - echo: emulated (the prompt is prepended to each choice's text); echo with
//    logprobs is a 400 (prompt logprobs cannot be produced);
//  - logprobs: n -> chat logprobs + top_logprobs n, converted back;
//  - suffix (insertion) and best_of > 1: a 400, no chat equivalent;
//  - max_tokens: the legacy default of 16 applies when absent, as on OpenAI.
import type { ChatCompletionRequest } from '../../openai/types.js'
import { isObject, refuse } from '../shared.js'
import type { CompletionsRequest } from './types.js'

export const LEGACY_DEFAULT_MAX_TOKENS = 16

export interface CompletionsContext {
  model: string
  /** The prompt, when echo was asked for. */
  echo: string | null
  /** Number of top logprobs asked for; null when logprobs were not asked for. */
  logprobs: number | null
  /** The client asked for a usage chunk at the end of the stream. */
  includeUsage: boolean
}

export interface CompletionsTranslation {
  chat: ChatCompletionRequest
  context: CompletionsContext
  dropped: string[]
}

const PASSED = ['temperature', 'top_p', 'n', 'stop', 'presence_penalty', 'frequency_penalty', 'seed', 'logit_bias', 'user'] as const
const KNOWN_FIELDS = new Set<string>([...PASSED, 'model', 'prompt', 'suffix', 'max_tokens', 'stream', 'stream_options', 'logprobs', 'echo', 'best_of'])

function promptText(prompt: CompletionsRequest['prompt']): string {
  if (typeof prompt === 'string') return prompt
  if (prompt === undefined || prompt === null) return '<|endoftext|>' // OpenAI's documented default prompt
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') return prompt[0]
  if (Array.isArray(prompt) && prompt.every((p) => typeof p === 'string')) {
    throw refuse('several prompts in one request are not supported on this backend; send one request per prompt', 'prompt')
  }
  throw refuse('token-id prompts are not supported on this backend; send the prompt as text', 'prompt')
}

export function completionsToChat(req: CompletionsRequest): CompletionsTranslation {
  if (!isObject(req)) throw refuse('the body must be a JSON object')
  if (typeof req.model !== 'string') throw refuse('model must be a string', 'model')
  const prompt = promptText(req.prompt)
  if (typeof req.suffix === 'string' && req.suffix !== '') throw refuse('suffix (insertion) is not supported on this backend', 'suffix')
  if (typeof req.best_of === 'number' && req.best_of > 1) throw refuse('best_of > 1 is not supported on this backend', 'best_of')
  const logprobs = typeof req.logprobs === 'number' ? req.logprobs : null
  if (req.echo === true && logprobs !== null) throw refuse('echo with logprobs is not supported on this backend (prompt logprobs)', 'echo')

  const chat: ChatCompletionRequest = { model: req.model, messages: [{ role: 'user', content: prompt }] }
  chat.max_completion_tokens = typeof req.max_tokens === 'number' ? req.max_tokens : LEGACY_DEFAULT_MAX_TOKENS
  for (const key of PASSED) {
    const value = req[key]
    if (value !== undefined && value !== null) (chat as Record<string, unknown>)[key] = value
  }
  if (logprobs !== null) {
    chat.logprobs = true
    if (logprobs > 0) chat.top_logprobs = logprobs
  }
  if (req.stream === true) {
    chat.stream = true
    chat.stream_options = { include_usage: true }
  }
  const dropped = Object.keys(req).filter((k) => !KNOWN_FIELDS.has(k))
  return {
    chat,
    context: {
      model: req.model,
      echo: req.echo === true ? prompt : null,
      logprobs,
      includeUsage: req.stream_options?.include_usage === true,
    },
    dropped,
  }
}
