// OpenAI Responses request (+ the rebuilt history of earlier turns) -> canonical
// chat request, for backends that only speak Chat Completions. A provider that
// declares native Responses support gets the body as sent instead.
//
// `store` and `previous_response_id` are the caller's: it loads the chain of
// stored responses, passes their input and output items as `history`, and
// stores the final Response. Earlier `instructions` are not carried over
// (OpenAI's rule: instructions apply to one response only).
//
// Tools, per kind (docs/translation-responses.md):
//  - function: mapped; namespace: its functions flattened to `<namespace>__<name>`
//    and split back on the way out; custom (free-form input, Codex's
//    apply_patch): a function with one string argument `input`, its grammar
//    quoted in the argument's description, turned back into custom_tool_call;
//  - hosted tools that OpenAI runs server-side (web_search*, file_search,
//    code_interpreter, image_generation, mcp, tool_search): dropped by default
//    and reported, since a tool offer is not a demand and Codex sends
//    web_search whenever search is on; `hostedTools: 'refuse'` makes them a
//    400; forcing one through tool_choice is always a 400;
//  - client tools with a protocol only OpenAI models speak (computer*,
//    local_shell, shell, apply_patch): 400;
//  - anything else: 400 naming the type.
import type { ChatCompletionRequest, ContentPart, ToolCall, ToolChoice, ToolDefinition } from '../../openai/types.js'
import { ChatMessages, isObject, refuse } from '../shared.js'
import type {
  CustomTool,
  FunctionTool,
  InputContentPart,
  InputItem,
  MessageItem,
  ResponsesRequest,
  TextFormat,
  ToolChoiceParam,
  ToolOutput,
  ToolParam,
} from './types.js'

export interface ResponsesToChatOptions {
  /** Hosted tools (web_search, file_search, code_interpreter, image_generation, mcp, tool_search). Default 'drop'. */
  hostedTools?: 'drop' | 'refuse'
}

/** How a chat function name maps back to the tool the client declared. */
export interface ToolOrigin {
  name: string
  namespace?: string
  /** A custom (free-form) tool: the call's `input` argument is the whole input. */
  custom?: boolean
}

/** The request fields a Response echoes, plus what the reverse translation needs. */
export interface ResponsesContext {
  model: string
  instructions: string | null
  tools: ToolParam[]
  toolChoice: ToolChoiceParam
  parallelToolCalls: boolean
  temperature: number | null
  topP: number | null
  maxOutputTokens: number | null
  reasoning: { effort: string | null; summary: string | null }
  text: { format: TextFormat }
  metadata: Record<string, string>
  store: boolean
  previousResponseId: string | null
  user: string | null
  /** Chat function name -> declared tool. */
  toolNames: Record<string, ToolOrigin>
}

export interface ResponsesTranslation {
  chat: ChatCompletionRequest
  context: ResponsesContext
  /** Fields, tools and items left out, e.g. for a response header or a log line. */
  dropped: string[]
}

export const NAMESPACE_SEPARATOR = '__'

const KNOWN_FIELDS = new Set([
  'model', 'input', 'instructions', 'tools', 'tool_choice', 'max_output_tokens', 'temperature', 'top_p', 'text',
  'reasoning', 'metadata', 'parallel_tool_calls', 'store', 'previous_response_id', 'stream', 'user',
])
/** Accepted and meaningless for a translated backend; not worth reporting. */
const IGNORED_FIELDS = new Set(['background', 'include', 'stream_options', 'truncation', 'service_tier', 'prompt_cache_key', 'safety_identifier'])

const HOSTED_TOOLS = /^(web_search|web_search_preview|file_search|code_interpreter|image_generation|mcp|tool_search)(_\d{4}_\d{2}_\d{2})?$/
const PROTOCOL_TOOLS = /^(computer|computer_use|computer_use_preview|local_shell|shell|apply_patch)$/
/** Output of tools the backend never ran: nothing to replay. */
const HOSTED_ITEMS = new Set([
  'web_search_call', 'file_search_call', 'code_interpreter_call', 'image_generation_call', 'mcp_call',
  'mcp_list_tools', 'mcp_approval_request', 'mcp_approval_response', 'tool_search_call', 'tool_search_output',
])

function str(value: unknown, where: string): string {
  if (typeof value !== 'string') throw refuse(`${where} must be a string`, where)
  return value
}

export function chatToolName(name: string, namespace?: string): string {
  return namespace ? `${namespace}${NAMESPACE_SEPARATOR}${name}` : name
}

function contentPart(part: InputContentPart, where: string): ContentPart {
  if (!isObject(part)) throw refuse(`${where} must be an object`, where)
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: str(part.text, `${where}.text`) }
    case 'refusal':
      return { type: 'text', text: str(part.refusal, `${where}.refusal`) }
    case 'input_image': {
      if (typeof part.image_url !== 'string' || part.image_url === '') {
        throw refuse(`${where}: only image_url images can be sent to this backend (file_id needs OpenAI's Files API)`, `${where}.image_url`)
      }
      const detail = part.detail === 'low' || part.detail === 'high' ? part.detail : part.detail === 'original' ? 'high' : undefined
      return { type: 'image_url', image_url: detail ? { url: part.image_url, detail } : { url: part.image_url } }
    }
    case 'input_file': {
      if (typeof part.file_data !== 'string' || part.file_data === '') {
        throw refuse(`${where}: only inline file_data can be sent to this backend (file_id and file_url are OpenAI-side)`, `${where}.file_data`)
      }
      const file: Record<string, string> = { file_data: part.file_data }
      if (typeof part.filename === 'string') file.filename = part.filename
      return { type: 'file', file }
    }
    default:
      throw refuse(`${where}.type '${String(part.type)}' is not supported on this backend`, `${where}.type`)
  }
}

function toolOutput(output: ToolOutput, where: string): { text: string; images: ContentPart[] } {
  if (typeof output === 'string') return { text: output, images: [] }
  if (!Array.isArray(output)) throw refuse(`${where} must be a string or an array of content parts`, where)
  const texts: string[] = []
  const images: ContentPart[] = []
  output.forEach((p, k) => {
    const part = contentPart(p as InputContentPart, `${where}[${k}]`)
    if (part.type === 'text') texts.push(String((part as { text: string }).text))
    else images.push(part)
  })
  return { text: texts.join('\n'), images }
}

function messageItem(item: MessageItem, where: string, out: ChatMessages): void {
  const parts =
    typeof item.content === 'string'
      ? [{ type: 'text', text: item.content } as ContentPart]
      : Array.isArray(item.content)
        ? item.content.map((p, k) => contentPart(p, `${where}.content[${k}]`))
        : undefined
  if (!parts) throw refuse(`${where}.content must be a string or an array of content parts`, `${where}.content`)
  const onlyText = parts.every((p) => p.type === 'text')
  const text = onlyText ? parts.map((p) => String((p as { text: string }).text)).join('') : undefined
  switch (item.role) {
    case 'user':
      out.user(text !== undefined && parts.length <= 1 ? text : parts)
      return
    case 'system':
    case 'developer':
      // Chat servers outside OpenAI rarely know `developer`; system means the same there.
      if (text === undefined) throw refuse(`${where}: a ${item.role} message may only contain text`, `${where}.content`)
      out.system(text)
      return
    case 'assistant':
      if (text === undefined) throw refuse(`${where}: an assistant message may only contain text`, `${where}.content`)
      out.assistant(text, [], true)
      return
    default:
      throw refuse(`${where}.role '${String(item.role)}' is not one of user, assistant, system, developer`, `${where}.role`)
  }
}

function convertItems(items: InputItem[], label: string, out: ChatMessages, dropped: Set<string>): void {
  items.forEach((item, i) => {
    const where = `${label}[${i}]`
    if (!isObject(item)) throw refuse(`${where} must be an object`, where)
    const type = item.type ?? 'message'
    switch (type) {
      case 'message':
        messageItem(item as unknown as MessageItem, where, out)
        return
      case 'function_call': {
        const namespace = typeof item.namespace === 'string' && item.namespace !== '' ? item.namespace : undefined
        const call: ToolCall = {
          id: str(item.call_id, `${where}.call_id`),
          type: 'function',
          function: { name: chatToolName(str(item.name, `${where}.name`), namespace), arguments: typeof item.arguments === 'string' ? item.arguments : '' },
        }
        out.assistant(null, [call], true)
        return
      }
      case 'custom_tool_call': {
        const namespace = typeof item.namespace === 'string' && item.namespace !== '' ? item.namespace : undefined
        const call: ToolCall = {
          id: str(item.call_id, `${where}.call_id`),
          type: 'function',
          function: { name: chatToolName(str(item.name, `${where}.name`), namespace), arguments: JSON.stringify({ input: str(item.input, `${where}.input`) }) },
        }
        out.assistant(null, [call], true)
        return
      }
      case 'function_call_output':
      case 'custom_tool_call_output': {
        const { text, images } = toolOutput(item.output as ToolOutput, `${where}.output`)
        out.tool(str(item.call_id, `${where}.call_id`), text, images)
        return
      }
      case 'reasoning':
        // Reasoning is the backend's own state (often encrypted); chat has no way to replay it.
        dropped.add('input.reasoning')
        return
      case 'item_reference':
        throw refuse(`${where}: item_reference is not supported; send the item itself`, `${where}.type`)
      default:
        if (HOSTED_ITEMS.has(type)) {
          dropped.add(`input.${type}`)
          return
        }
        throw refuse(`${where}.type '${type}' is not supported on this backend`, `${where}.type`)
    }
  })
}

function functionTool(tool: FunctionTool | NonNullable<Extract<ToolParam, { type: 'namespace' }>['tools']>[number], where: string, chatName: string): ToolDefinition {
  const fn: ToolDefinition['function'] = { name: chatName }
  if (typeof tool.description === 'string' && tool.description !== '') fn.description = tool.description
  if (tool.type === 'custom') {
    const custom = tool as CustomTool
    const format = custom.format
    const description =
      format?.type === 'grammar'
        ? `The complete input. It must follow this ${format.syntax} grammar:\n${format.definition}`
        : 'The complete input, as free-form text.'
    fn.parameters = { type: 'object', properties: { input: { type: 'string', description } }, required: ['input'], additionalProperties: false }
    return { type: 'function', function: fn }
  }
  const params = (tool as FunctionTool).parameters
  if (params !== undefined && params !== null) {
    if (!isObject(params)) throw refuse(`${where}.parameters must be an object`, `${where}.parameters`)
    fn.parameters = params
  }
  const strict = (tool as FunctionTool).strict
  if (typeof strict === 'boolean') fn.strict = strict
  return { type: 'function', function: fn }
}

function convertTools(
  tools: ToolParam[],
  options: ResponsesToChatOptions,
  dropped: Set<string>,
): { tools: ToolDefinition[]; names: Record<string, ToolOrigin>; hosted: Set<string> } {
  if (!Array.isArray(tools)) throw refuse('tools must be an array', 'tools')
  const out: ToolDefinition[] = []
  const names: Record<string, ToolOrigin> = {}
  const hosted = new Set<string>()
  const add = (tool: FunctionTool | CustomTool, where: string, namespace?: string) => {
    const name = str(tool.name, `${where}.name`)
    const chatName = chatToolName(name, namespace)
    out.push(functionTool(tool, where, chatName))
    names[chatName] = { name, ...(namespace ? { namespace } : {}), ...(tool.type === 'custom' ? { custom: true } : {}) }
  }
  tools.forEach((tool, k) => {
    const where = `tools[${k}]`
    if (!isObject(tool)) throw refuse(`${where} must be an object`, where)
    const type = String(tool.type)
    if (type === 'function' || type === 'custom') add(tool as unknown as FunctionTool | CustomTool, where)
    else if (type === 'namespace') {
      const ns = str(tool.name, `${where}.name`)
      if (!Array.isArray(tool.tools)) throw refuse(`${where}.tools must be an array`, `${where}.tools`)
      tool.tools.forEach((inner: FunctionTool | CustomTool, j: number) => {
        const at = `${where}.tools[${j}]`
        if (inner?.type !== 'function' && inner?.type !== 'custom') throw refuse(`${at}.type must be function or custom`, `${at}.type`)
        add(inner, at, ns)
      })
    } else if (HOSTED_TOOLS.test(type)) {
      if (options.hostedTools === 'refuse') throw refuse(`${where}: hosted tool '${type}' runs on OpenAI's servers and cannot run on this backend`, `${where}.type`)
      hosted.add(type)
      dropped.add(`tools.${type}`)
    } else if (PROTOCOL_TOOLS.test(type)) {
      throw refuse(`${where}: tool type '${type}' needs an OpenAI model that speaks its protocol; declare it as a function tool instead`, `${where}.type`)
    } else {
      throw refuse(`${where}.type '${type}' is not supported on this backend`, `${where}.type`)
    }
  })
  return { tools: out, names, hosted }
}

function convertToolChoice(
  choice: ToolChoiceParam,
  tools: ToolDefinition[],
  hosted: Set<string>,
): { choice?: ToolChoice; tools: ToolDefinition[] } {
  if (choice === 'none' || choice === 'auto') return tools.length > 0 ? { choice, tools } : { tools }
  if (choice === 'required') {
    if (tools.length === 0) throw refuse("tool_choice 'required' needs at least one tool this backend can run", 'tool_choice')
    return { choice, tools }
  }
  if (!isObject(choice)) throw refuse('tool_choice must be none, auto, required or an object', 'tool_choice')
  const obj = choice as Record<string, unknown>
  const type = String(obj.type)
  if (type === 'function' || type === 'custom') {
    return { choice: { type: 'function', function: { name: str(obj.name, 'tool_choice.name') } }, tools }
  }
  if (type === 'allowed_tools') {
    // Emulated on every backend: only the allowed tools are offered.
    const allowed = Array.isArray(obj.tools) ? (obj.tools as Array<{ name?: unknown }>) : []
    const keep = new Set(allowed.map((t) => t?.name).filter((n): n is string => typeof n === 'string'))
    const subset = tools.filter((t) => keep.has(t.function.name))
    const mode = obj.mode === 'required' ? 'required' : 'auto'
    if (subset.length === 0) {
      if (mode === 'required') throw refuse('tool_choice.allowed_tools names no tool this backend can run', 'tool_choice.tools')
      return { tools: [] }
    }
    return { choice: mode, tools: subset }
  }
  if (HOSTED_TOOLS.test(type) || hosted.has(type) || PROTOCOL_TOOLS.test(type) || type === 'mcp') {
    throw refuse(`tool_choice forces tool type '${type}', which cannot run on this backend`, 'tool_choice')
  }
  throw refuse(`tool_choice.type '${type}' is not supported`, 'tool_choice.type')
}

function responseFormat(format: TextFormat | undefined): ChatCompletionRequest['response_format'] | undefined {
  if (!isObject(format) || format.type === 'text') return undefined
  if (format.type === 'json_object') return { type: 'json_object' }
  if (format.type === 'json_schema') {
    const f = format as Extract<TextFormat, { type: 'json_schema' }>
    const schema: Record<string, unknown> = { name: str(f.name, 'text.format.name'), schema: f.schema }
    if (typeof f.description === 'string') schema.description = f.description
    if (typeof f.strict === 'boolean') schema.strict = f.strict
    return { type: 'json_schema', json_schema: schema }
  }
  throw refuse(`text.format.type '${String((format as { type?: unknown }).type)}' is not one of text, json_object, json_schema`, 'text.format.type')
}

/**
 * Responses request -> canonical chat request. `history` holds the input and
 * output items of the earlier responses of a previous_response_id chain,
 * oldest first. Throws a 400 GatewayError when the request cannot be expressed.
 */
export function responsesToChat(
  req: ResponsesRequest,
  history: InputItem[] = [],
  options: ResponsesToChatOptions = {},
): ResponsesTranslation {
  if (!isObject(req)) throw refuse('the body must be a JSON object')
  if (req.background === true) throw refuse('background responses are not supported', 'background')
  if (req.conversation !== undefined && req.conversation !== null) throw refuse('conversation is not supported; use previous_response_id', 'conversation')
  if (req.prompt !== undefined && req.prompt !== null) throw refuse('prompt templates are not supported', 'prompt')
  const dropped = new Set<string>()
  const model = str(req.model, 'model')
  const messages = new ChatMessages()

  const instructions = typeof req.instructions === 'string' && req.instructions !== '' ? req.instructions : null
  if (instructions !== null) messages.system(instructions)
  if (!Array.isArray(history)) throw refuse('history must be an array')
  convertItems(history, 'history', messages, dropped)
  if (typeof req.input === 'string') messages.user(req.input)
  else if (Array.isArray(req.input)) convertItems(req.input, 'input', messages, dropped)
  else if (req.input !== undefined && req.input !== null) throw refuse('input must be a string or an array of items', 'input')

  const chat: ChatCompletionRequest = { model, messages: messages.build() }
  if (chat.messages.length === 0) throw refuse('input is empty', 'input')

  let names: Record<string, ToolOrigin> = {}
  if (req.tools !== undefined && req.tools !== null) {
    const converted = convertTools(req.tools, options, dropped)
    names = converted.names
    const { choice, tools } = convertToolChoice(req.tool_choice ?? 'auto', converted.tools, converted.hosted)
    if (tools.length > 0) chat.tools = tools
    if (choice !== undefined && req.tool_choice !== undefined) chat.tool_choice = choice
    // OpenAI rejects parallel_tool_calls without tools.
    if (tools.length > 0 && typeof req.parallel_tool_calls === 'boolean') chat.parallel_tool_calls = req.parallel_tool_calls
  } else if (req.tool_choice === 'required') {
    throw refuse("tool_choice 'required' needs at least one tool", 'tool_choice')
  }

  if (typeof req.max_output_tokens === 'number') chat.max_completion_tokens = req.max_output_tokens
  if (typeof req.temperature === 'number') chat.temperature = req.temperature
  if (typeof req.top_p === 'number') chat.top_p = req.top_p
  const format = responseFormat(req.text?.format)
  if (format) chat.response_format = format
  const effort = req.reasoning?.effort
  if (typeof effort === 'string') chat.reasoning_effort = effort
  if (typeof req.user === 'string' && req.user !== '') chat.user = req.user
  if (req.stream === true) {
    chat.stream = true
    chat.stream_options = { include_usage: true }
  }
  for (const key of Object.keys(req)) if (!KNOWN_FIELDS.has(key) && !IGNORED_FIELDS.has(key)) dropped.add(key)
  if (typeof req.text?.verbosity === 'string') dropped.add('text.verbosity')
  if (typeof req.reasoning?.summary === 'string') dropped.add('reasoning.summary')

  return {
    chat,
    context: {
      model,
      instructions,
      tools: Array.isArray(req.tools) ? req.tools : [],
      toolChoice: req.tool_choice ?? 'auto',
      parallelToolCalls: req.parallel_tool_calls !== false,
      temperature: typeof req.temperature === 'number' ? req.temperature : null,
      topP: typeof req.top_p === 'number' ? req.top_p : null,
      maxOutputTokens: typeof req.max_output_tokens === 'number' ? req.max_output_tokens : null,
      reasoning: { effort: typeof effort === 'string' ? effort : null, summary: typeof req.reasoning?.summary === 'string' ? req.reasoning.summary : null },
      text: { format: isObject(req.text?.format) ? req.text.format : { type: 'text' } },
      metadata: isObject(req.metadata) ? (req.metadata as Record<string, string>) : {},
      store: req.store !== false,
      previousResponseId: typeof req.previous_response_id === 'string' ? req.previous_response_id : null,
      user: typeof req.user === 'string' ? req.user : null,
      toolNames: names,
    },
    dropped: [...dropped],
  }
}
