// OpenAI chat request -> Anthropic Messages request. Anything that cannot be
// expressed faithfully throws an Error naming the offending field, so the
// client gets a 400 instead of a silently different conversation.
import type { ChatCompletionRequest, ChatMessage, ContentPart, ToolChoice, ToolDefinition } from '../../openai/types.js'
import type { TranslateContext } from '../types.js'

export interface AnthropicTextBlock {
  type: 'text'
  text: string
}

export interface AnthropicImageBlock {
  type: 'image'
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string }
}

export interface AnthropicToolUseBlock {
  type: 'tool_use'
  id: string
  name: string
  input: Record<string, unknown>
}

export interface AnthropicToolResultBlock {
  type: 'tool_result'
  tool_use_id: string
  content?: string | Array<AnthropicTextBlock | AnthropicImageBlock>
}

export type AnthropicRequestBlock = AnthropicTextBlock | AnthropicImageBlock | AnthropicToolUseBlock | AnthropicToolResultBlock

export interface AnthropicMessageParam {
  role: 'user' | 'assistant'
  content: string | AnthropicRequestBlock[]
}

export interface AnthropicTool {
  name: string
  description?: string
  input_schema: Record<string, unknown>
}

export type AnthropicToolChoice =
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' }

export interface AnthropicRequest {
  model: string
  max_tokens: number
  messages: AnthropicMessageParam[]
  system?: string
  temperature?: number
  top_p?: number
  stop_sequences?: string[]
  stream?: boolean
  tools?: AnthropicTool[]
  tool_choice?: AnthropicToolChoice
  metadata?: { user_id: string }
}

const DEFAULT_MAX_TOKENS = 4096

function imageBlock(url: unknown, where: string): AnthropicImageBlock {
  if (typeof url !== 'string') throw new Error(`${where}.image_url.url must be a string`)
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',')
    const [mediaType, ...params] = (comma === -1 ? '' : url.slice(5, comma)).split(';')
    if (!mediaType || !params.includes('base64')) {
      throw new Error(`${where}.image_url.url must be a base64 data URL (data:<media type>;base64,<data>)`)
    }
    return { type: 'image', source: { type: 'base64', media_type: mediaType, data: url.slice(comma + 1) } }
  }
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } }
  throw new Error(`${where}.image_url.url must be a data: or http(s) URL`)
}

/**
 * Text and image parts. Empty text is dropped because Anthropic rejects empty
 * text blocks while OpenAI accepts them.
 */
function contentBlocks(
  content: ChatMessage['content'],
  where: string,
  allowImages: boolean,
): Array<AnthropicTextBlock | AnthropicImageBlock> {
  if (content === undefined || content === null) return []
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }]
  if (!Array.isArray(content)) throw new Error(`${where} must be a string or an array of content parts`)
  const blocks: Array<AnthropicTextBlock | AnthropicImageBlock> = []
  content.forEach((part: ContentPart, j) => {
    const at = `${where}[${j}]`
    if (part.type === 'text' || part.type === 'refusal') {
      const fields = part as { text?: unknown; refusal?: unknown }
      const text = part.type === 'text' ? fields.text : fields.refusal
      if (typeof text !== 'string') throw new Error(`${at}.${part.type} must be a string`)
      if (text !== '') blocks.push({ type: 'text', text })
    } else if (part.type === 'image_url' && allowImages) {
      blocks.push(imageBlock((part.image_url as { url?: unknown } | undefined)?.url, at))
    } else {
      throw new Error(`${at}.type '${part.type}' is not supported by the Anthropic provider`)
    }
  })
  return blocks
}

function systemText(msg: ChatMessage, i: number): string {
  return contentBlocks(msg.content, `messages[${i}].content`, false)
    .map((b) => (b as AnthropicTextBlock).text)
    .join('\n\n')
}

function toolUseBlocks(msg: ChatMessage, i: number): AnthropicToolUseBlock[] {
  if (msg.tool_calls === undefined || msg.tool_calls === null) return []
  if (!Array.isArray(msg.tool_calls)) throw new Error(`messages[${i}].tool_calls must be an array`)
  return msg.tool_calls.map((call, j) => {
    const where = `messages[${i}].tool_calls[${j}]`
    if (!call?.id || !call.function?.name) throw new Error(`${where} needs an id and a function.name`)
    const raw = call.function.arguments
    let input: unknown
    // An empty string is how some clients spell "no arguments"; anything else
    // must be a JSON object, since Anthropic's tool_use.input is one.
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
      input = {}
    } else {
      try {
        input = JSON.parse(raw)
      } catch {
        throw new Error(`${where}.function.arguments is not valid JSON`)
      }
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new Error(`${where}.function.arguments must be a JSON object`)
    }
    return { type: 'tool_use', id: call.id, name: call.function.name, input: input as Record<string, unknown> }
  })
}

function toolResultBlock(msg: ChatMessage, i: number): AnthropicToolResultBlock {
  if (typeof msg.tool_call_id !== 'string' || msg.tool_call_id === '') {
    throw new Error(`messages[${i}].tool_call_id is required on tool messages`)
  }
  const block: AnthropicToolResultBlock = { type: 'tool_result', tool_use_id: msg.tool_call_id }
  if (typeof msg.content === 'string') block.content = msg.content
  else if (Array.isArray(msg.content)) block.content = contentBlocks(msg.content, `messages[${i}].content`, true)
  return block
}

/** Splits out the system prompt and builds strictly alternating turns. */
function convertMessages(messages: ChatMessage[]): { system: string[]; turns: AnthropicMessageParam[] } {
  if (!Array.isArray(messages)) throw new Error('messages must be an array')
  const system: string[] = []
  const turns: Array<{ role: 'user' | 'assistant'; content: AnthropicRequestBlock[] }> = []
  const append = (role: 'user' | 'assistant', blocks: AnthropicRequestBlock[]) => {
    if (blocks.length === 0) return
    const last = turns[turns.length - 1]
    if (last?.role === role) last.content.push(...blocks)
    else turns.push({ role, content: blocks })
  }

  messages.forEach((msg, i) => {
    const where = `messages[${i}].content`
    switch (msg?.role) {
      case 'system':
      case 'developer': {
        const text = systemText(msg, i)
        if (text !== '') system.push(text)
        break
      }
      case 'user':
        append('user', contentBlocks(msg.content, where, true))
        break
      case 'assistant':
        append('assistant', [...contentBlocks(msg.content, where, false), ...toolUseBlocks(msg, i)])
        break
      case 'tool':
        append('user', [toolResultBlock(msg, i)])
        break
      default:
        throw new Error(`messages[${i}].role '${String(msg?.role)}' is not supported by the Anthropic provider`)
    }
  })

  return {
    system,
    turns: turns.map(({ role, content }) => ({
      role,
      content: content.length === 1 && content[0]!.type === 'text' ? content[0]!.text : content,
    })),
  }
}

function convertTools(tools: ToolDefinition[]): AnthropicTool[] {
  return tools.map((tool, k) => {
    if (tool?.type !== 'function' || !tool.function?.name) {
      throw new Error(`tools[${k}] must be {type:'function', function:{name, ...}}`)
    }
    const { name, description, parameters } = tool.function
    return {
      name,
      ...(description ? { description } : {}),
      // Anthropic requires an object schema; OpenAI allows omitting it.
      input_schema: parameters ? { type: 'object', ...parameters } : { type: 'object', properties: {} },
    }
  })
}

function convertToolChoice(choice: ToolChoice | undefined, parallel: boolean | undefined): AnthropicToolChoice | undefined {
  let out: AnthropicToolChoice | undefined
  if (choice === undefined || choice === null) out = parallel === false ? { type: 'auto' } : undefined
  else if (choice === 'none') return { type: 'none' }
  else if (choice === 'auto') out = { type: 'auto' }
  else if (choice === 'required') out = { type: 'any' }
  else if (typeof choice === 'object' && choice.type === 'function' && choice.function?.name) {
    out = { type: 'tool', name: choice.function.name }
  } else {
    throw new Error(`tool_choice ${JSON.stringify(choice)} is not supported by the Anthropic provider`)
  }
  if (out && parallel === false) out.disable_parallel_tool_use = true
  return out
}

/** Builds the Anthropic request object; anthropicRequest serializes it. */
export function toAnthropicRequest(body: ChatCompletionRequest, ctx: TranslateContext): AnthropicRequest {
  if (typeof body.n === 'number' && body.n > 1) throw new Error('n > 1 is not supported by the Anthropic provider')
  const { system, turns } = convertMessages(body.messages)
  const out: AnthropicRequest = {
    model: ctx.upstreamModel,
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS,
    messages: turns,
  }
  if (system.length > 0) out.system = system.join('\n\n')
  if (typeof body.temperature === 'number') out.temperature = body.temperature
  if (typeof body.top_p === 'number') out.top_p = body.top_p
  const stop = typeof body.stop === 'string' ? [body.stop] : Array.isArray(body.stop) ? body.stop : []
  if (stop.length > 0) out.stop_sequences = stop
  if (body.stream === true) out.stream = true
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    out.tools = convertTools(body.tools)
    const toolChoice = convertToolChoice(body.tool_choice, body.parallel_tool_calls)
    if (toolChoice) out.tool_choice = toolChoice
  }
  if (typeof body.user === 'string' && body.user !== '') out.metadata = { user_id: body.user }
  return out
}

/** ChatTranslator.request: the Anthropic request as JSON text. */
export function anthropicRequest(body: ChatCompletionRequest, ctx: TranslateContext): string {
  return JSON.stringify(toAnthropicRequest(body, ctx))
}
