// Anthropic Messages API wire shapes, as the front door reads and writes them
// (written from the API reference and @anthropic-ai/sdk's type definitions).
// Requests keep index signatures: fields the gateway does not know are read as
// unknown and reported as dropped, never trusted.

export interface CacheControl {
  type: 'ephemeral'
  ttl?: string
}

export interface TextBlockParam {
  type: 'text'
  text: string
  cache_control?: CacheControl | null
  citations?: unknown
}

export type ImageSource =
  | { type: 'base64'; media_type: string; data: string }
  | { type: 'url'; url: string }
  | { type: 'file'; file_id: string }

export interface ImageBlockParam {
  type: 'image'
  source: ImageSource
  cache_control?: CacheControl | null
}

export type DocumentSource =
  | { type: 'base64'; media_type: string; data: string }
  | { type: 'text'; media_type?: string; data: string }
  | { type: 'content'; content: string | Array<TextBlockParam | ImageBlockParam> }
  | { type: 'url'; url: string }
  | { type: 'file'; file_id: string }

export interface DocumentBlockParam {
  type: 'document'
  source: DocumentSource
  title?: string | null
  context?: string | null
  cache_control?: CacheControl | null
}

export interface ToolUseBlockParam {
  type: 'tool_use'
  id: string
  name: string
  input: unknown
  cache_control?: CacheControl | null
}

export interface ToolResultBlockParam {
  type: 'tool_result'
  tool_use_id: string
  content?: string | Array<TextBlockParam | ImageBlockParam | DocumentBlockParam | { type: string; [k: string]: unknown }>
  is_error?: boolean
  cache_control?: CacheControl | null
}

export interface ThinkingBlockParam {
  type: 'thinking'
  thinking: string
  signature: string
}

export interface RedactedThinkingBlockParam {
  type: 'redacted_thinking'
  data: string
}

export type ContentBlockParam =
  | TextBlockParam
  | ImageBlockParam
  | DocumentBlockParam
  | ToolUseBlockParam
  | ToolResultBlockParam
  | ThinkingBlockParam
  | RedactedThinkingBlockParam
  | { type: string; [k: string]: unknown }

export interface MessageParam {
  /** `system` inside messages is what Claude Code sends; newer API versions accept it too. */
  role: 'user' | 'assistant' | 'system'
  content: string | ContentBlockParam[]
}

/** A client-defined tool (`type` absent or 'custom'); Anthropic-defined tools carry a dated type. */
export interface ToolParam {
  type?: string | null
  name: string
  description?: string
  input_schema?: Record<string, unknown>
  cache_control?: CacheControl | null
  [k: string]: unknown
}

export type ToolChoiceParam =
  | { type: 'auto'; disable_parallel_tool_use?: boolean }
  | { type: 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' }

export type ThinkingParam =
  | { type: 'enabled'; budget_tokens: number; display?: string | null }
  | { type: 'disabled' }
  | { type: 'adaptive'; display?: string | null }
  | { type: string; [k: string]: unknown }

export interface MessagesRequest {
  model: string
  max_tokens: number
  messages: MessageParam[]
  system?: string | TextBlockParam[]
  stop_sequences?: string[]
  stream?: boolean
  temperature?: number
  top_p?: number
  top_k?: number
  tools?: ToolParam[]
  tool_choice?: ToolChoiceParam
  thinking?: ThinkingParam
  metadata?: { user_id?: string | null }
  output_config?: { effort?: string | null; format?: { type: 'json_schema'; schema: Record<string, unknown> } | null }
  [k: string]: unknown
}

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal'

export interface Usage {
  input_tokens: number
  output_tokens: number
  cache_creation_input_tokens: number
  cache_read_input_tokens: number
}

export interface TextBlock {
  type: 'text'
  text: string
}

export interface ThinkingBlock {
  type: 'thinking'
  thinking: string
  /** Empty: a translated backend has no Anthropic signature to give. */
  signature: string
}

export interface ToolUseBlock {
  type: 'tool_use'
  id: string
  name: string
  input: Record<string, unknown>
}

export type ContentBlock = TextBlock | ThinkingBlock | ToolUseBlock

export interface Message {
  id: string
  type: 'message'
  role: 'assistant'
  model: string
  content: ContentBlock[]
  stop_reason: StopReason | null
  stop_sequence: string | null
  usage: Usage
}

// ---------------------------------------------------------------- stream events

export interface MessageStartEvent {
  type: 'message_start'
  message: Message
}

export interface ContentBlockStartEvent {
  type: 'content_block_start'
  index: number
  content_block: TextBlock | ThinkingBlock | (Omit<ToolUseBlock, 'input'> & { input: Record<string, never> })
}

export type BlockDelta =
  | { type: 'text_delta'; text: string }
  | { type: 'input_json_delta'; partial_json: string }
  | { type: 'thinking_delta'; thinking: string }

export interface ContentBlockDeltaEvent {
  type: 'content_block_delta'
  index: number
  delta: BlockDelta
}

export interface ContentBlockStopEvent {
  type: 'content_block_stop'
  index: number
}

export interface MessageDeltaEvent {
  type: 'message_delta'
  delta: { stop_reason: StopReason; stop_sequence: string | null }
  usage: Usage
}

export interface MessageStopEvent {
  type: 'message_stop'
}

export interface PingEvent {
  type: 'ping'
}

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error'

export interface ErrorBody {
  type: 'error'
  error: { type: ErrorType; message: string }
}

export type StreamEvent =
  | MessageStartEvent
  | ContentBlockStartEvent
  | ContentBlockDeltaEvent
  | ContentBlockStopEvent
  | MessageDeltaEvent
  | MessageStopEvent
  | PingEvent
  | ErrorBody

export interface CountTokensResponse {
  input_tokens: number
}
