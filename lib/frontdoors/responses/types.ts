// OpenAI Responses API wire shapes, as the front door reads and writes them
// (written from the API reference and the openai SDK's type definitions).

// ---------------------------------------------------------------- request

export interface InputText { type: 'input_text'; text: string }
export interface InputImage { type: 'input_image'; image_url?: string | null; file_id?: string | null; detail?: string }
export interface InputFile { type: 'input_file'; file_data?: string; file_id?: string | null; file_url?: string; filename?: string }
export interface OutputText { type: 'output_text'; text: string; annotations: unknown[]; logprobs?: unknown[] }
export interface Refusal { type: 'refusal'; refusal: string }
export type InputContentPart = InputText | InputImage | InputFile | OutputText | Refusal | { type: string; [k: string]: unknown }

export interface MessageItem {
  type?: 'message'
  id?: string
  role: 'user' | 'assistant' | 'system' | 'developer'
  content: string | InputContentPart[]
  status?: string
}

export interface FunctionCallItem {
  type: 'function_call'
  id?: string
  call_id: string
  name: string
  /** Set when the tool was declared inside a `namespace` tool. */
  namespace?: string
  arguments: string
  status?: 'in_progress' | 'completed' | 'incomplete'
}

export type ToolOutput = string | Array<InputText | InputImage | InputFile | { type: string; [k: string]: unknown }>

export interface FunctionCallOutputItem {
  type: 'function_call_output'
  id?: string
  call_id: string
  output: ToolOutput
  status?: string
}

export interface CustomToolCallItem {
  type: 'custom_tool_call'
  id?: string
  call_id: string
  name: string
  namespace?: string
  input: string
}

export interface CustomToolCallOutputItem {
  type: 'custom_tool_call_output'
  id?: string
  call_id: string
  output: ToolOutput
}

export interface ReasoningItem {
  type: 'reasoning'
  id: string
  summary: Array<{ type: 'summary_text'; text: string }>
  content?: Array<{ type: 'reasoning_text'; text: string }>
  encrypted_content?: string | null
  status?: 'in_progress' | 'completed' | 'incomplete'
}

export type InputItem =
  | MessageItem
  | FunctionCallItem
  | FunctionCallOutputItem
  | CustomToolCallItem
  | CustomToolCallOutputItem
  | ReasoningItem
  | { type: string; [k: string]: unknown }

export interface FunctionTool {
  type: 'function'
  name: string
  description?: string | null
  parameters?: Record<string, unknown> | null
  strict?: boolean | null
}

export interface CustomTool {
  type: 'custom'
  name: string
  description?: string
  format?: { type: 'text' } | { type: 'grammar'; syntax: string; definition: string }
}

export interface NamespaceTool {
  type: 'namespace'
  name: string
  description?: string
  tools: Array<FunctionTool | CustomTool>
}

export type ToolParam = FunctionTool | CustomTool | NamespaceTool | { type: string; [k: string]: unknown }

export type ToolChoiceParam =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; name: string }
  | { type: 'custom'; name: string }
  | { type: 'allowed_tools'; mode: 'auto' | 'required'; tools: Array<{ type: string; name?: string }> }
  | { type: string; [k: string]: unknown }

export type TextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; description?: string; strict?: boolean | null }

export interface ResponsesRequest {
  model: string
  input?: string | InputItem[]
  instructions?: string | null
  tools?: ToolParam[]
  tool_choice?: ToolChoiceParam
  max_output_tokens?: number | null
  temperature?: number | null
  top_p?: number | null
  text?: { format?: TextFormat; verbosity?: string | null } | null
  reasoning?: { effort?: string | null; summary?: string | null } | null
  metadata?: Record<string, string> | null
  parallel_tool_calls?: boolean | null
  store?: boolean | null
  previous_response_id?: string | null
  stream?: boolean | null
  user?: string
  [k: string]: unknown
}

// ---------------------------------------------------------------- response

export interface OutputMessage {
  type: 'message'
  id: string
  status: 'in_progress' | 'completed' | 'incomplete'
  role: 'assistant'
  content: Array<OutputText | Refusal>
}

export interface OutputFunctionCall {
  type: 'function_call'
  id: string
  call_id: string
  name: string
  namespace?: string
  arguments: string
  status: 'in_progress' | 'completed' | 'incomplete'
}

export interface OutputCustomToolCall {
  type: 'custom_tool_call'
  id: string
  call_id: string
  name: string
  namespace?: string
  input: string
}

export interface OutputReasoning {
  type: 'reasoning'
  id: string
  summary: Array<{ type: 'summary_text'; text: string }>
  content: Array<{ type: 'reasoning_text'; text: string }>
  status?: 'in_progress' | 'completed' | 'incomplete'
}

export type OutputItem = OutputMessage | OutputFunctionCall | OutputCustomToolCall | OutputReasoning

export interface ResponseUsage {
  input_tokens: number
  input_tokens_details: { cached_tokens: number }
  output_tokens: number
  output_tokens_details: { reasoning_tokens: number }
  total_tokens: number
}

export type ResponseStatus = 'completed' | 'incomplete' | 'failed' | 'in_progress'

export interface Response {
  id: string
  object: 'response'
  created_at: number
  status: ResponseStatus
  background: boolean
  error: { code: string; message: string } | null
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null
  instructions: string | null
  max_output_tokens: number | null
  model: string
  output: OutputItem[]
  parallel_tool_calls: boolean
  previous_response_id: string | null
  reasoning: { effort: string | null; summary: string | null }
  store: boolean
  temperature: number | null
  text: { format: TextFormat }
  tool_choice: ToolChoiceParam
  tools: ToolParam[]
  top_p: number | null
  truncation: 'disabled'
  usage: ResponseUsage | null
  user: string | null
  metadata: Record<string, string>
}

// ---------------------------------------------------------------- stream events

interface Seq { sequence_number: number }

export type StreamEvent =
  | ({ type: 'response.created' | 'response.in_progress' | 'response.completed' | 'response.incomplete' | 'response.failed'; response: Response } & Seq)
  | ({ type: 'response.output_item.added' | 'response.output_item.done'; output_index: number; item: OutputItem } & Seq)
  | ({
      type: 'response.content_part.added' | 'response.content_part.done'
      item_id: string
      output_index: number
      content_index: number
      part: OutputText | Refusal | { type: 'reasoning_text'; text: string }
    } & Seq)
  | ({ type: 'response.output_text.delta'; item_id: string; output_index: number; content_index: number; delta: string; logprobs: unknown[] } & Seq)
  | ({ type: 'response.output_text.done'; item_id: string; output_index: number; content_index: number; text: string; logprobs: unknown[] } & Seq)
  | ({ type: 'response.refusal.delta'; item_id: string; output_index: number; content_index: number; delta: string } & Seq)
  | ({ type: 'response.refusal.done'; item_id: string; output_index: number; content_index: number; refusal: string } & Seq)
  | ({ type: 'response.reasoning_text.delta'; item_id: string; output_index: number; content_index: number; delta: string } & Seq)
  | ({ type: 'response.reasoning_text.done'; item_id: string; output_index: number; content_index: number; text: string } & Seq)
  | ({ type: 'response.function_call_arguments.delta'; item_id: string; output_index: number; delta: string } & Seq)
  | ({ type: 'response.function_call_arguments.done'; item_id: string; output_index: number; name: string; arguments: string } & Seq)
  | ({ type: 'response.custom_tool_call_input.delta'; item_id: string; output_index: number; delta: string } & Seq)
  | ({ type: 'response.custom_tool_call_input.done'; item_id: string; output_index: number; input: string } & Seq)
  | ({ type: 'error'; code: string | null; message: string; param: string | null } & Seq)
