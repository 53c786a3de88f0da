// Legacy OpenAI Completions API (/v1/completions) wire shapes.

export interface CompletionsRequest {
  model: string
  prompt?: string | string[] | number[] | number[][] | null
  suffix?: string | null
  max_tokens?: number | null
  temperature?: number | null
  top_p?: number | null
  n?: number | null
  stream?: boolean | null
  stream_options?: { include_usage?: boolean } | null
  logprobs?: number | null
  echo?: boolean | null
  stop?: string | string[] | null
  presence_penalty?: number | null
  frequency_penalty?: number | null
  best_of?: number | null
  logit_bias?: Record<string, number> | null
  seed?: number | null
  user?: string
  [k: string]: unknown
}

export interface CompletionLogprobs {
  tokens: string[]
  token_logprobs: number[]
  /** One map token -> logprob per position; null when logprobs was 0. */
  top_logprobs: Array<Record<string, number>> | null
  text_offset: number[]
}

export type CompletionFinishReason = 'stop' | 'length' | 'content_filter' | null

export interface CompletionChoice {
  text: string
  index: number
  logprobs: CompletionLogprobs | null
  finish_reason: CompletionFinishReason
}

export interface CompletionUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  [k: string]: unknown
}

export interface Completion {
  id: string
  object: 'text_completion'
  created: number
  model: string
  choices: CompletionChoice[]
  usage?: CompletionUsage
  system_fingerprint?: string | null
}
