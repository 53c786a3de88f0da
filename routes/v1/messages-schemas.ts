// JSON schemas of the Anthropic Messages front door (/v1/messages,
// /v1/messages/count_tokens) and legacy completions (/v1/completions):
// validation stays loose (the translators name what they cannot take), and
// unknown fields pass through untouched.
import { Type, type TSchema } from '@sinclair/typebox'
import { ModelName } from './schemas.js'

export const AnthropicErrorBody = Type.Object(
  {
    type: Type.Literal('error'),
    error: Type.Object({ type: Type.String(), message: Type.String() }),
  },
  { description: "Anthropic's error shape" },
)

const Block = Type.Object({ type: Type.String() }, { additionalProperties: true })

const AnthropicMessage = Type.Object(
  {
    role: Type.String({ description: 'user or assistant (system entries inside messages are accepted and join the system prompt)' }),
    content: Type.Union([Type.String(), Type.Array(Block)]),
  },
  { additionalProperties: true },
)

const messagesFields = {
  model: ModelName,
  messages: Type.Array(AnthropicMessage),
  system: Type.Optional(Type.Union([Type.String(), Type.Array(Block)])),
  tools: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
  tool_choice: Type.Optional(Type.Object({ type: Type.String() }, { additionalProperties: true })),
  thinking: Type.Optional(Type.Object({ type: Type.String() }, { additionalProperties: true })),
  metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
}

export const MessagesRequest = Type.Object(
  {
    ...messagesFields,
    max_tokens: Type.Integer({ minimum: 1 }),
    stream: Type.Optional(Type.Boolean()),
    stop_sequences: Type.Optional(Type.Array(Type.String())),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_k: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: true, description: 'Anthropic Messages request; other fields are forwarded to Anthropic deployments as sent' },
)

export const CountTokensRequest = Type.Object(messagesFields, { additionalProperties: true, description: 'Anthropic count_tokens request' })

export const CountTokensResponse = Type.Object({ input_tokens: Type.Integer() })

const AnthropicUsage = Type.Object(
  {
    input_tokens: Type.Integer(),
    output_tokens: Type.Integer(),
    cache_creation_input_tokens: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    cache_read_input_tokens: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  },
  { additionalProperties: true },
)

export const MessageResponse = Type.Object(
  {
    id: Type.String(),
    type: Type.Literal('message'),
    role: Type.Literal('assistant'),
    model: Type.String(),
    content: Type.Array(Block),
    stop_reason: Type.Union([Type.String(), Type.Null()]),
    stop_sequence: Type.Union([Type.String(), Type.Null()]),
    usage: AnthropicUsage,
  },
  { additionalProperties: true },
)

/** Anthropic's statuses; typed loosely like errorResponses in schemas.ts. */
export const anthropicErrorResponses: Record<400 | 401 | 402 | 403 | 404 | 413 | 429 | 500 | 502 | 504 | 529, TSchema> = {
  400: { description: 'invalid_request_error', ...AnthropicErrorBody },
  401: { description: 'authentication_error: missing or invalid gateway key', ...AnthropicErrorBody },
  402: { description: 'billing_error: the key or tenant budget is spent', ...AnthropicErrorBody },
  403: { description: 'permission_error: the key may not use this model', ...AnthropicErrorBody },
  404: { description: 'not_found_error: unknown model', ...AnthropicErrorBody },
  413: { description: 'request_too_large', ...AnthropicErrorBody },
  429: { description: 'rate_limit_error (gateway limits or upstream)', ...AnthropicErrorBody },
  500: { description: 'api_error', ...AnthropicErrorBody },
  502: { description: 'api_error: the upstream failed', ...AnthropicErrorBody },
  504: { description: 'timeout_error', ...AnthropicErrorBody },
  529: { description: 'overloaded_error: every deployment is cooling down or none is available', ...AnthropicErrorBody },
}

export const CompletionsRequest = Type.Object(
  {
    model: ModelName,
    prompt: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String()), Type.Array(Type.Integer()), Type.Array(Type.Array(Type.Integer())), Type.Null()])),
    max_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
    stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    stream_options: Type.Optional(Type.Union([Type.Object({ include_usage: Type.Optional(Type.Boolean()) }), Type.Null()])),
    temperature: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 2 }), Type.Null()])),
    top_p: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])),
    n: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 128 }), Type.Null()])),
    logprobs: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 5 }), Type.Null()])),
    echo: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    suffix: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    stop: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 4 }), Type.Null()])),
  },
  { additionalProperties: true, description: 'Legacy OpenAI completions request; other fields are forwarded to OpenAI-compatible deployments as sent' },
)

export const CompletionResponse = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('text_completion'),
    created: Type.Integer(),
    model: Type.String(),
    choices: Type.Array(
      Type.Object({ text: Type.String(), index: Type.Integer(), finish_reason: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: true }),
    ),
    usage: Type.Optional(Type.Object({ prompt_tokens: Type.Integer(), completion_tokens: Type.Integer(), total_tokens: Type.Integer() }, { additionalProperties: true })),
  },
  { additionalProperties: true },
)
