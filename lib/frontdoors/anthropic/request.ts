// Anthropic Messages request -> canonical chat request (for every backend that
// is not Anthropic itself; Anthropic deployments get the body as sent).
//
// Policy for what chat cannot carry, per kind (docs/translation-anthropic-messages.md):
//  - model-side state the backend never produced (thinking, redacted_thinking,
//    server tool calls and their results in the history): dropped;
//  - server tools Anthropic would run itself (web_search, web_fetch,
//    code_execution, tool_search) and mcp_servers: dropped by default, because
//    a tool offer is not a demand and refusing would make every Claude Code
//    session with web search enabled fail; `serverTools: 'refuse'` makes them
//    a 400 instead. Forcing one through tool_choice is always a 400;
//  - Anthropic-defined client tools (bash, text_editor, computer, memory): a
//    400, since their schema lives inside Claude models;
//  - any other unknown block or tool type: a 400 naming it, so user content is
//    never silently lost.
import type { ChatCompletionRequest, ContentPart, ToolCall, ToolChoice, ToolDefinition } from '../../openai/types.js'
import { ChatMessages, isObject, refuse, TOOL_ERROR_PREFIX } from '../shared.js'
import type {
  ContentBlockParam,
  DocumentBlockParam,
  ImageBlockParam,
  MessageParam,
  MessagesRequest,
  ThinkingParam,
  ToolChoiceParam,
  ToolParam,
  ToolResultBlockParam,
} from './types.js'

export interface MessagesToChatOptions {
  /** Server tools (web_search, web_fetch, code_execution, tool_search) and mcp_servers. Default 'drop'. */
  serverTools?: 'drop' | 'refuse'
}

/** What the response and stream translators need to know about the request. */
export interface MessagesContext {
  /** The model name the client sent; echoed in responses. */
  model: string
  /** The client enabled extended thinking: reasoning text is returned as thinking blocks. */
  thinking: boolean
  /** To report which sequence stopped generation when the backend says so. */
  stopSequences: string[]
}

export interface MessagesTranslation {
  chat: ChatCompletionRequest
  context: MessagesContext
  /** Fields, tools and blocks left out, e.g. for a response header or a log line. */
  dropped: string[]
}

/** thinking.budget_tokens below this → reasoning_effort 'low'. Claude Code's "think" (4,000) is low. */
export const THINKING_MEDIUM_FROM = 8192
/** From this budget on → 'high' (Claude Code's "ultrathink", 31,999). */
export const THINKING_HIGH_FROM = 16384

const KNOWN_FIELDS = new Set([
  'model', 'max_tokens', 'messages', 'system', 'stop_sequences', 'stream', 'temperature', 'top_p', 'top_k',
  'tools', 'tool_choice', 'thinking', 'metadata', 'output_config',
])

const SERVER_TOOL = /^(web_search|web_fetch|code_execution|tool_search_tool)_/
const CLIENT_SCHEMA_TOOL = /^(bash|text_editor|computer|memory|browser)_/
/** History blocks produced by Anthropic's own servers or models: nothing a chat backend can replay. */
const MODEL_STATE_BLOCKS = new Set([
  'thinking', 'redacted_thinking', 'server_tool_use', 'web_search_tool_result', 'web_fetch_tool_result',
  'code_execution_tool_result', 'bash_code_execution_tool_result', 'text_editor_code_execution_tool_result',
  'tool_search_tool_result', 'mcp_tool_use', 'mcp_tool_result', 'container_upload',
])

export function thinkingEffort(budget: number): 'low' | 'medium' | 'high' {
  if (budget >= THINKING_HIGH_FROM) return 'high'
  if (budget >= THINKING_MEDIUM_FROM) return 'medium'
  return 'low'
}

function textOf(value: unknown, where: string): string {
  if (typeof value !== 'string') throw refuse(`${where} must be a string`, where)
  return value
}

function imagePart(block: ImageBlockParam, where: string): ContentPart {
  const source = block.source as { type?: unknown; media_type?: unknown; data?: unknown; url?: unknown }
  if (!isObject(source)) throw refuse(`${where}.source is required`, `${where}.source`)
  if (source.type === 'base64') {
    return { type: 'image_url', image_url: { url: `data:${textOf(source.media_type, `${where}.source.media_type`)};base64,${textOf(source.data, `${where}.source.data`)}` } }
  }
  if (source.type === 'url') return { type: 'image_url', image_url: { url: textOf(source.url, `${where}.source.url`) } }
  throw refuse(`${where}.source.type '${String(source.type)}' cannot be sent to this backend (Files API ids only work on Anthropic)`, `${where}.source.type`)
}

/** PDFs become chat `file` parts; plain-text documents become text. */
function documentParts(block: DocumentBlockParam, where: string): ContentPart[] {
  const source = block.source as { type?: unknown; media_type?: unknown; data?: unknown; content?: unknown }
  if (!isObject(source)) throw refuse(`${where}.source is required`, `${where}.source`)
  const title = typeof block.title === 'string' && block.title !== '' ? block.title : undefined
  if (source.type === 'base64') {
    const mediaType = textOf(source.media_type, `${where}.source.media_type`)
    const file: Record<string, string> = { file_data: `data:${mediaType};base64,${textOf(source.data, `${where}.source.data`)}` }
    file.filename = title ?? (mediaType === 'application/pdf' ? 'document.pdf' : 'document')
    return [{ type: 'file', file }]
  }
  if (source.type === 'text') {
    const text = textOf(source.data, `${where}.source.data`)
    return [{ type: 'text', text: title ? `${title}\n\n${text}` : text }]
  }
  if (source.type === 'content') {
    const content = source.content
    if (typeof content === 'string') return [{ type: 'text', text: content }]
    if (!Array.isArray(content)) throw refuse(`${where}.source.content must be a string or blocks`, `${where}.source.content`)
    return content.flatMap((b: ContentBlockParam, k) => userParts(b, `${where}.source.content[${k}]`))
  }
  throw refuse(`${where}.source.type '${String(source.type)}' cannot be sent to this backend; send the document as base64 or text`, `${where}.source.type`)
}

/** A user-side block that becomes chat content (text, image, document). */
function userParts(block: ContentBlockParam, where: string): ContentPart[] {
  switch (block.type) {
    case 'text': {
      const text = textOf((block as { text?: unknown }).text, `${where}.text`)
      return text === '' ? [] : [{ type: 'text', text }]
    }
    case 'image':
      return [imagePart(block as ImageBlockParam, where)]
    case 'document':
      return documentParts(block as DocumentBlockParam, where)
    case 'search_result': {
      // Search results are text with a source; the model reads them as such.
      const b = block as { title?: unknown; source?: unknown; content?: unknown }
      const texts = Array.isArray(b.content) ? b.content.map((c: { text?: unknown }) => (typeof c?.text === 'string' ? c.text : '')) : []
      return [{ type: 'text', text: [`${String(b.title ?? '')} (${String(b.source ?? '')})`, ...texts].join('\n') }]
    }
    default:
      throw refuse(`${where}.type '${block.type}' is not supported on this backend`, `${where}.type`)
  }
}

function toolResultOutput(block: ToolResultBlockParam, where: string): { text: string; images: ContentPart[] } {
  const texts: string[] = []
  const images: ContentPart[] = []
  const content = block.content
  if (typeof content === 'string') texts.push(content)
  else if (Array.isArray(content)) {
    content.forEach((b, k) => {
      for (const part of userParts(b as ContentBlockParam, `${where}.content[${k}]`)) {
        if (part.type === 'text') texts.push(String((part as { text: string }).text))
        else images.push(part)
      }
    })
  } else if (content !== undefined && content !== null) {
    throw refuse(`${where}.content must be a string or an array of blocks`, `${where}.content`)
  }
  let text = texts.join('\n')
  // Chat has no error flag on tool messages; the model still has to know the call failed.
  if (block.is_error === true) text = TOOL_ERROR_PREFIX + text
  return { text, images }
}

function convertMessages(
  messages: MessageParam[],
  out: ChatMessages,
  systemExtra: string[],
  dropped: Set<string>,
): void {
  if (!Array.isArray(messages)) throw refuse('messages must be an array', 'messages')
  messages.forEach((msg, i) => {
    const where = `messages[${i}]`
    if (!isObject(msg)) throw refuse(`${where} must be an object`, where)
    const blocks: ContentBlockParam[] =
      typeof msg.content === 'string' ? [{ type: 'text', text: msg.content }] : Array.isArray(msg.content) ? msg.content : []
    if (typeof msg.content !== 'string' && !Array.isArray(msg.content)) {
      throw refuse(`${where}.content must be a string or an array of blocks`, `${where}.content`)
    }

    if (msg.role === 'system') {
      const text = blocks.map((b, k) => (b.type === 'text' ? textOf((b as { text?: unknown }).text, `${where}.content[${k}].text`) : '')).join('\n')
      if (blocks.some((b) => b.type !== 'text')) throw refuse(`${where}: a system message may only contain text`, `${where}.content`)
      if (text !== '') systemExtra.push(text)
      return
    }

    if (msg.role === 'assistant') {
      const texts: string[] = []
      const calls: ToolCall[] = []
      blocks.forEach((b, k) => {
        const at = `${where}.content[${k}]`
        if (b.type === 'text') texts.push(textOf((b as { text?: unknown }).text, `${at}.text`))
        else if (b.type === 'tool_use') {
          const use = b as { id?: unknown; name?: unknown; input?: unknown }
          calls.push({
            id: textOf(use.id, `${at}.id`),
            type: 'function',
            function: { name: textOf(use.name, `${at}.name`), arguments: JSON.stringify(use.input ?? {}) },
          })
        } else if (MODEL_STATE_BLOCKS.has(b.type)) dropped.add(`messages[].content[].${b.type}`)
        else throw refuse(`${at}.type '${b.type}' is not supported in an assistant message on this backend`, `${at}.type`)
      })
      const text = texts.join('')
      if (text === '' && calls.length === 0) return
      out.assistant(text === '' ? null : text, calls)
      return
    }

    if (msg.role !== 'user') throw refuse(`${where}.role '${String(msg.role)}' is not one of user, assistant, system`, `${where}.role`)
    const parts: ContentPart[] = []
    blocks.forEach((b, k) => {
      const at = `${where}.content[${k}]`
      if (b.type === 'tool_result') {
        const result = b as ToolResultBlockParam
        const { text, images } = toolResultOutput(result, at)
        out.tool(textOf(result.tool_use_id, `${at}.tool_use_id`), text, images)
      } else if (MODEL_STATE_BLOCKS.has(b.type)) dropped.add(`messages[].content[].${b.type}`)
      else parts.push(...userParts(b, at))
    })
    if (parts.length === 0) return
    const only = parts[0]!
    out.user(parts.length === 1 && only.type === 'text' ? String((only as { text: string }).text) : parts)
  })
}

function systemText(system: MessagesRequest['system']): string[] {
  if (system === undefined || system === null) return []
  if (typeof system === 'string') return system === '' ? [] : [system]
  if (!Array.isArray(system)) throw refuse('system must be a string or an array of text blocks', 'system')
  return system
    .map((b, k) => {
      if (b?.type !== 'text') throw refuse(`system[${k}].type must be 'text'`, `system[${k}].type`)
      return textOf(b.text, `system[${k}].text`)
    })
    .filter((t) => t !== '')
}

function convertTools(
  tools: ToolParam[],
  options: MessagesToChatOptions,
  dropped: Set<string>,
): { tools: ToolDefinition[]; serverToolNames: Set<string> } {
  if (!Array.isArray(tools)) throw refuse('tools must be an array', 'tools')
  const out: ToolDefinition[] = []
  const serverToolNames = new Set<string>()
  tools.forEach((tool, k) => {
    const where = `tools[${k}]`
    if (!isObject(tool)) throw refuse(`${where} must be an object`, where)
    const type = tool.type ?? 'custom'
    if (type === 'custom') {
      const schema = isObject(tool.input_schema) ? tool.input_schema : { type: 'object', properties: {} }
      const fn: ToolDefinition['function'] = { name: textOf(tool.name, `${where}.name`), parameters: schema }
      if (typeof tool.description === 'string' && tool.description !== '') fn.description = tool.description
      if (typeof tool.strict === 'boolean') fn.strict = tool.strict
      out.push({ type: 'function', function: fn })
    } else if (SERVER_TOOL.test(type)) {
      if (options.serverTools === 'refuse') {
        throw refuse(`${where}: server tool '${type}' is run by Anthropic and cannot run on this backend`, `${where}.type`)
      }
      serverToolNames.add(String(tool.name))
      dropped.add(`tools.${type}`)
    } else if (CLIENT_SCHEMA_TOOL.test(type)) {
      throw refuse(`${where}: Anthropic-defined tool '${type}' needs a Claude model; define it as a custom tool with an input_schema instead`, `${where}.type`)
    } else {
      throw refuse(`${where}.type '${type}' is not supported on this backend`, `${where}.type`)
    }
  })
  return { tools: out, serverToolNames }
}

function convertToolChoice(choice: ToolChoiceParam, serverToolNames: Set<string>, haveTools: boolean): ToolChoice | undefined {
  if (!isObject(choice)) throw refuse('tool_choice must be an object', 'tool_choice')
  switch (choice.type) {
    case 'auto':
      return haveTools ? 'auto' : undefined
    case 'none':
      return haveTools ? 'none' : undefined
    case 'any':
      if (!haveTools) throw refuse("tool_choice 'any' needs at least one tool this backend can run", 'tool_choice')
      return 'required'
    case 'tool': {
      const name = textOf(choice.name, 'tool_choice.name')
      if (serverToolNames.has(name)) throw refuse(`tool_choice forces server tool '${name}', which cannot run on this backend`, 'tool_choice')
      return { type: 'function', function: { name } }
    }
    default:
      throw refuse(`tool_choice.type '${String((choice as { type?: unknown }).type)}' is not one of auto, any, tool, none`, 'tool_choice.type')
  }
}

function reasoningEffort(req: MessagesRequest): string | undefined {
  const effort = req.output_config?.effort
  if (typeof effort === 'string') return effort === 'xhigh' || effort === 'max' ? 'high' : effort
  const thinking = req.thinking as ThinkingParam | undefined
  if (isObject(thinking) && thinking.type === 'enabled') {
    const budget = (thinking as { budget_tokens?: unknown }).budget_tokens
    if (typeof budget !== 'number') throw refuse('thinking.budget_tokens must be a number', 'thinking.budget_tokens')
    return thinkingEffort(budget)
  }
  return undefined
}

/** Anthropic Messages request -> canonical chat request. Throws a 400 GatewayError when it cannot be expressed. */
export function messagesToChat(req: MessagesRequest, options: MessagesToChatOptions = {}): MessagesTranslation {
  if (!isObject(req)) throw refuse('the body must be a JSON object')
  const dropped = new Set<string>()
  const model = textOf(req.model, 'model')
  const messages = new ChatMessages()
  const system = systemText(req.system)
  const systemExtra: string[] = []
  // Converted before the system message is known, since system entries inside messages join it.
  const body = new ChatMessages()
  convertMessages(req.messages, body, systemExtra, dropped)
  const allSystem = [...system, ...systemExtra]
  if (allSystem.length > 0) messages.system(allSystem.join('\n\n'))

  const chat: ChatCompletionRequest = { model, messages: [...messages.build(), ...body.build()] }
  if (typeof req.max_tokens === 'number') chat.max_completion_tokens = req.max_tokens
  if (typeof req.temperature === 'number') chat.temperature = req.temperature
  if (typeof req.top_p === 'number') chat.top_p = req.top_p
  // Not an OpenAI parameter; vLLM, Ollama and OpenRouter read it, the chat adapters may.
  if (typeof req.top_k === 'number') chat.top_k = req.top_k
  if (Array.isArray(req.stop_sequences) && req.stop_sequences.length > 0) chat.stop = req.stop_sequences
  if (req.stream === true) {
    chat.stream = true
    chat.stream_options = { include_usage: true }
  }

  if (req.tools !== undefined) {
    const { tools, serverToolNames } = convertTools(req.tools, options, dropped)
    if (tools.length > 0) chat.tools = tools
    if (req.tool_choice !== undefined) {
      const choice = convertToolChoice(req.tool_choice, serverToolNames, tools.length > 0)
      if (choice !== undefined) chat.tool_choice = choice
      const noParallel = (req.tool_choice as { disable_parallel_tool_use?: unknown }).disable_parallel_tool_use === true
      if (noParallel && tools.length > 0) chat.parallel_tool_calls = false
    }
  } else if (req.tool_choice !== undefined && req.tool_choice.type === 'any') {
    throw refuse("tool_choice 'any' needs at least one tool", 'tool_choice')
  }

  const effort = reasoningEffort(req)
  if (effort !== undefined) chat.reasoning_effort = effort

  const format = req.output_config?.format
  if (isObject(format) && format.type === 'json_schema') {
    chat.response_format = { type: 'json_schema', json_schema: { name: 'response', schema: format.schema, strict: true } }
  }

  const user = req.metadata?.user_id
  if (typeof user === 'string' && user !== '') chat.user = user

  if (Array.isArray(req.mcp_servers) && req.mcp_servers.length > 0 && options.serverTools === 'refuse') {
    throw refuse('mcp_servers are called by Anthropic and cannot be used on this backend', 'mcp_servers')
  }
  for (const key of Object.keys(req)) if (!KNOWN_FIELDS.has(key)) dropped.add(key)

  const thinkingType = (req.thinking as { type?: unknown } | undefined)?.type
  return {
    chat,
    context: {
      model,
      thinking: thinkingType === 'enabled' || thinkingType === 'adaptive',
      stopSequences: Array.isArray(req.stop_sequences) ? req.stop_sequences.filter((s): s is string => typeof s === 'string') : [],
    },
    dropped: [...dropped],
  }
}
