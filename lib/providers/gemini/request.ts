// OpenAI chat request -> Gemini v1beta GenerateContentRequest.
// The model is part of the URL, so it does not appear in the body.
import type { ChatCompletionRequest, ChatMessage, ContentPart, ToolChoice, ToolDefinition } from '../../openai/types.js'

export interface GeminiPart {
  text?: string
  /** Set on reasoning summaries; never counted as answer text. */
  thought?: boolean
  thoughtSignature?: string
  inlineData?: { mimeType: string; data: string }
  fileData?: { mimeType: string; fileUri: string }
  functionCall?: { name: string; args?: Record<string, unknown>; id?: string }
  functionResponse?: { name: string; response: Record<string, unknown>; id?: string }
}

export interface GeminiContent {
  role?: 'user' | 'model'
  parts?: GeminiPart[]
}

export interface GeminiGenerationConfig {
  temperature?: number
  topP?: number
  maxOutputTokens?: number
  stopSequences?: string[]
  candidateCount?: number
  seed?: number
  presencePenalty?: number
  frequencyPenalty?: number
  responseMimeType?: string
  responseSchema?: Record<string, unknown>
}

export interface GeminiFunctionDeclaration {
  name: string
  description?: string
  parameters?: Record<string, unknown>
}

export interface GenerateContentRequest {
  contents: GeminiContent[]
  systemInstruction?: { parts: GeminiPart[] }
  tools?: Array<{ functionDeclarations: GeminiFunctionDeclaration[] }>
  toolConfig?: { functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] } }
  generationConfig?: GeminiGenerationConfig
}

// Gemini's Schema is a subset of OpenAPI 3.0 and rejects unknown fields with a
// 400, so only these keys survive; everything else (additionalProperties,
// $schema, $ref, strict, ...) is dropped.
const SCHEMA_KEYS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'default', 'example',
  'items', 'minItems', 'maxItems', 'properties', 'required', 'minProperties', 'maxProperties',
  'propertyOrdering', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'anyOf',
])

// The Developer API only accepts these string formats; others (uri, email...) are a 400.
const STRING_FORMATS = new Set(['enum', 'date-time'])

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** JSON Schema -> the subset Gemini accepts, recursively. */
export function toGeminiSchema(schema: unknown): Record<string, unknown> {
  if (!isPlainObject(schema)) return {}
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'type' && Array.isArray(value)) {
      // ["string", "null"] is how JSON Schema spells nullable.
      const types = value.filter((t) => t !== 'null')
      if (types.length !== value.length) out.nullable = true
      if (types.length === 1) out.type = types[0]
      else if (types.length > 1) out.anyOf = types.map((t) => ({ type: t }))
    } else if (key === 'const') {
      out.enum = [String(value)]
    } else if (!SCHEMA_KEYS.has(key)) {
      continue
    } else if (key === 'properties' && isPlainObject(value)) {
      // Keys of `properties` are user field names, not schema keywords.
      out.properties = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, toGeminiSchema(sub)]))
    } else if (key === 'items') {
      out.items = toGeminiSchema(value)
    } else if (key === 'anyOf' && Array.isArray(value)) {
      out.anyOf = value.map(toGeminiSchema)
    } else if (key === 'format' && schema.type === 'string' && typeof value === 'string' && !STRING_FORMATS.has(value)) {
      continue
    } else {
      out[key] = value
    }
  }
  return out
}

function textOf(content: ChatMessage['content'], where: string): string {
  if (content == null) return ''
  if (typeof content === 'string') return content
  return content
    .map((p, j) => {
      // An assistant refusal has no Gemini counterpart and carries no context worth replaying.
      if (p.type === 'refusal') return ''
      if (p.type !== 'text') throw new Error(`${where}.content[${j}]: only text parts are allowed in this message`)
      return String((p as { text?: unknown }).text ?? '')
    })
    .join('')
}

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
}

function guessImageType(url: string): string {
  let path = url
  try {
    path = new URL(url).pathname
  } catch {
    // not a valid URL: fall back to the raw string
  }
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase()
  return (ext && IMAGE_TYPES[ext]) || 'image/jpeg'
}

function dataUrlPart(url: string, where: string): GeminiPart {
  const comma = url.indexOf(',')
  if (comma === -1) throw new Error(`${where}: malformed data URL`)
  const [mime, ...params] = url.slice('data:'.length, comma).split(';')
  const payload = url.slice(comma + 1)
  const data = params.includes('base64') ? payload : Buffer.from(decodeURIComponent(payload), 'utf8').toString('base64')
  return { inlineData: { mimeType: mime || 'text/plain', data } }
}

function imagePart(url: string, where: string): GeminiPart {
  if (url.startsWith('data:')) return dataUrlPart(url, where)
  if (/^https?:\/\//i.test(url)) return { fileData: { mimeType: guessImageType(url), fileUri: url } }
  throw new Error(`${where}: image_url must be a data: or http(s) URL`)
}

const AUDIO_TYPES: Record<string, string> = { wav: 'audio/wav', mp3: 'audio/mp3' }

function contentPart(part: ContentPart, where: string): GeminiPart | undefined {
  if (part.type === 'text') {
    const text = String((part as { text?: unknown }).text ?? '')
    return text === '' ? undefined : { text }
  }
  if (part.type === 'image_url') {
    const image = (part as { image_url?: { url?: unknown } | string }).image_url
    const url = typeof image === 'string' ? image : image?.url
    if (typeof url !== 'string') throw new Error(`${where}.image_url.url is required`)
    return imagePart(url, `${where}.image_url.url`)
  }
  if (part.type === 'input_audio') {
    const audio = (part as { input_audio?: { data?: unknown; format?: unknown } }).input_audio
    const mimeType = AUDIO_TYPES[String(audio?.format)]
    if (!mimeType || typeof audio?.data !== 'string') throw new Error(`${where}.input_audio needs base64 data and format wav or mp3`)
    return { inlineData: { mimeType, data: audio.data } }
  }
  if (part.type === 'file') {
    const fileData = (part as { file?: { file_data?: unknown } }).file?.file_data
    if (typeof fileData !== 'string' || !fileData.startsWith('data:')) throw new Error(`${where}.file.file_data must be a data: URL (file ids are not supported by gemini)`)
    return dataUrlPart(fileData, `${where}.file.file_data`)
  }
  throw new Error(`${where}: content part type "${part.type}" is not supported by gemini`)
}

function userParts(content: ChatMessage['content'], where: string): GeminiPart[] {
  if (content == null) return []
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }]
  if (!Array.isArray(content)) throw new Error(`${where}.content must be a string or an array of parts`)
  return content.flatMap((p, j) => contentPart(p, `${where}.content[${j}]`) ?? [])
}

function parseArguments(raw: string, where: string): Record<string, unknown> {
  if (raw.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new Error(`${where} is not valid JSON`)
  }
  if (!isPlainObject(parsed)) throw new Error(`${where} must be a JSON object`)
  return parsed
}

function functionResponse(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text)
    if (isPlainObject(parsed)) return parsed
  } catch {
    // plain text result
  }
  return { content: text }
}

function toolConfig(choice: ToolChoice): GenerateContentRequest['toolConfig'] {
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } }
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } }
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } }
  if (isPlainObject(choice) && choice.type === 'function' && typeof choice.function?.name === 'string') {
    return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } }
  }
  throw new Error('tool_choice must be "auto", "none", "required" or {type:"function", function:{name}}')
}

function functionDeclaration(tool: ToolDefinition, i: number): GeminiFunctionDeclaration {
  if (tool.type !== 'function' || typeof tool.function?.name !== 'string') {
    throw new Error(`tools[${i}]: only function tools are supported by gemini`)
  }
  const decl: GeminiFunctionDeclaration = { name: tool.function.name }
  if (tool.function.description) decl.description = tool.function.description
  const params = tool.function.parameters ? toGeminiSchema(tool.function.parameters) : undefined
  // Gemini rejects an OBJECT schema without properties: a no-argument function omits parameters.
  if (params && isPlainObject(params.properties) && Object.keys(params.properties).length > 0) decl.parameters = params
  return decl
}

function generationConfig(body: ChatCompletionRequest): GeminiGenerationConfig | undefined {
  const config: GeminiGenerationConfig = {}
  if (body.temperature != null) config.temperature = body.temperature
  if (body.top_p != null) config.topP = body.top_p
  const maxTokens = body.max_completion_tokens ?? body.max_tokens
  if (maxTokens != null) config.maxOutputTokens = maxTokens
  if (body.stop != null) config.stopSequences = Array.isArray(body.stop) ? body.stop : [body.stop]
  if (body.n != null) config.candidateCount = body.n
  if (body.seed != null) config.seed = body.seed
  if (typeof body.presence_penalty === 'number') config.presencePenalty = body.presence_penalty
  if (typeof body.frequency_penalty === 'number') config.frequencyPenalty = body.frequency_penalty
  const format = body.response_format
  if (format?.type === 'json_object' || format?.type === 'json_schema') {
    config.responseMimeType = 'application/json'
    const schema = (format.json_schema as { schema?: unknown } | undefined)?.schema
    if (format.type === 'json_schema' && isPlainObject(schema)) config.responseSchema = toGeminiSchema(schema)
  }
  return Object.keys(config).length > 0 ? config : undefined
}

/** Builds the contents list; consecutive turns of one role become one turn. */
function contents(messages: ChatMessage[]): { contents: GeminiContent[]; system: GeminiPart[] } {
  const out: Array<{ role: 'user' | 'model'; parts: GeminiPart[] }> = []
  const system: GeminiPart[] = []
  const toolNames = new Map<string, string>()
  const add = (role: 'user' | 'model', parts: GeminiPart[]) => {
    if (parts.length === 0) return
    const last = out[out.length - 1]
    if (last && last.role === role) last.parts.push(...parts)
    else out.push({ role, parts })
  }

  messages.forEach((m, i) => {
    const where = `messages[${i}]`
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOf(m.content, where)
        if (text !== '') system.push({ text })
        break
      }
      case 'user':
        add('user', userParts(m.content, where))
        break
      case 'assistant': {
        const parts: GeminiPart[] = []
        const text = textOf(m.content, where)
        if (text !== '') parts.push({ text })
        ;(m.tool_calls ?? []).forEach((call, j) => {
          const name = call.function?.name
          if (typeof name !== 'string') throw new Error(`${where}.tool_calls[${j}].function.name is required`)
          const args = parseArguments(String(call.function.arguments ?? ''), `${where}.tool_calls[${j}].function.arguments`)
          toolNames.set(call.id, name)
          parts.push({ functionCall: { name, args } })
        })
        add('model', parts)
        break
      }
      case 'tool':
      case 'function': {
        const name = (m.tool_call_id !== undefined ? toolNames.get(m.tool_call_id) : undefined) ?? m.name
        if (!name) throw new Error(`${where}.tool_call_id ${JSON.stringify(m.tool_call_id)} does not match an earlier assistant tool call`)
        add('user', [{ functionResponse: { name, response: functionResponse(textOf(m.content, where)) } }])
        break
      }
      default:
        throw new Error(`${where}.role "${String(m.role)}" is not supported`)
    }
  })
  return { contents: out, system }
}

export function toGeminiRequest(body: ChatCompletionRequest): GenerateContentRequest {
  if (!Array.isArray(body.messages)) throw new Error('messages must be an array')
  const { contents: turns, system } = contents(body.messages)
  const req: GenerateContentRequest = { contents: turns }
  if (system.length > 0) req.systemInstruction = { parts: system }
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    req.tools = [{ functionDeclarations: body.tools.map(functionDeclaration) }]
  }
  if (body.tool_choice !== undefined && body.tool_choice !== null) req.toolConfig = toolConfig(body.tool_choice)
  const config = generationConfig(body)
  if (config) req.generationConfig = config
  return req
}

/** ChatTranslator.request: the JSON text sent to generateContent. */
export function geminiChatRequest(body: ChatCompletionRequest): string {
  return JSON.stringify(toGeminiRequest(body))
}
