// JSON schemas of the OpenAI-compatible surface: they validate requests and
// document them in Swagger. Unknown fields are allowed everywhere and passed
// through untouched.
import { Type, type TSchema } from '@sinclair/typebox'

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      message: Type.String(),
      type: Type.String(),
      param: Type.Union([Type.String(), Type.Null()]),
      code: Type.Union([Type.String(), Type.Null()]),
    }),
  },
  { description: "OpenAI's error shape" },
)

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

/** Longest `model` accepted. */
export const MODEL_NAME_MAX_LENGTH = 256

/**
 * `model` on every route that takes one. Real ids are short printable ASCII
 * (gpt-4o, claude-3-5-sonnet@20240620, models/gemini-1.5-pro,
 * accounts/x/models/y, ft:gpt-4o:org:name:id); the name is echoed in errors,
 * headers and statistics, so anything else is refused with 400 (param model).
 */
export const ModelName = Type.String({
  minLength: 1,
  maxLength: MODEL_NAME_MAX_LENGTH,
  pattern: '^[\\x21-\\x7E]+$',
  description: `A model name, alias, or a name matching a routing pattern: 1-${MODEL_NAME_MAX_LENGTH} printable ASCII characters, no spaces`,
})

const Message = Type.Object(
  {
    role: Type.Union(['system', 'developer', 'user', 'assistant', 'tool', 'function'].map((r) => Type.Literal(r))),
    content: Type.Optional(Type.Union([Type.String(), Type.Array(Type.Object({ type: Type.String() })), Type.Null()])),
    name: Type.Optional(Type.String()),
    tool_call_id: Type.Optional(Type.String()),
    tool_calls: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.String(),
          type: Type.String(),
          function: Type.Object({ name: Type.String(), arguments: Type.String() }),
        }),
      ),
    ),
  },
  { additionalProperties: true },
)

export const ChatCompletionRequest = Type.Object(
  {
    model: ModelName,
    messages: Type.Array(Message, { minItems: 1 }),
    stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    stream_options: Type.Optional(Type.Union([Type.Object({ include_usage: Type.Optional(Type.Boolean()) }), Type.Null()])),
    max_tokens: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
    max_completion_tokens: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
    temperature: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 2 }))),
    top_p: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 1 }))),
    n: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 128 }))),
    stop: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 4 }), Type.Null()])),
    tools: Type.Optional(
      Type.Array(
        Type.Object({
          type: Type.String(),
          function: Type.Object({ name: Type.String({ minLength: 1 }), description: Type.Optional(Type.String()), parameters: Type.Optional(Type.Object({})) }),
        }),
      ),
    ),
    tool_choice: Type.Optional(Type.Union([Type.String(), Type.Object({ type: Type.String() })])),
    response_format: Type.Optional(Type.Object({ type: Type.String() })),
    seed: Type.Optional(Nullable(Type.Integer())),
    user: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'OpenAI Chat Completions request; other fields are forwarded as sent' },
)

const Usage = Type.Object(
  {
    prompt_tokens: Type.Integer(),
    completion_tokens: Type.Integer(),
    total_tokens: Type.Integer(),
  },
  { additionalProperties: true },
)

export const ChatCompletionResponse = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('chat.completion'),
    created: Type.Integer(),
    model: Type.String(),
    choices: Type.Array(
      Type.Object(
        {
          index: Type.Integer(),
          message: Type.Object({ role: Type.String(), content: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: true }),
          finish_reason: Type.Union([Type.String(), Type.Null()]),
        },
        { additionalProperties: true },
      ),
    ),
    usage: Type.Optional(Usage),
  },
  { additionalProperties: true },
)

export const EmbeddingsRequest = Type.Object(
  {
    model: ModelName,
    input: Type.Union([
      Type.String(),
      Type.Array(Type.String(), { minItems: 1 }),
      Type.Array(Type.Integer(), { minItems: 1 }),
      Type.Array(Type.Array(Type.Integer()), { minItems: 1 }),
    ]),
    encoding_format: Type.Optional(Type.Union([Type.Literal('float'), Type.Literal('base64')])),
    dimensions: Type.Optional(Type.Integer({ minimum: 1 })),
    user: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
)

export const EmbeddingsResponse = Type.Object(
  {
    object: Type.Literal('list'),
    data: Type.Array(Type.Object({ object: Type.String(), index: Type.Integer(), embedding: Type.Union([Type.Array(Type.Number()), Type.String()]) })),
    model: Type.String(),
    usage: Type.Object({ prompt_tokens: Type.Integer(), total_tokens: Type.Integer() }),
  },
  { additionalProperties: true },
)

export const ModelList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(
    Type.Object({ id: Type.String(), object: Type.Literal('model'), created: Type.Integer(), owned_by: Type.String() }),
  ),
})

/** Typed loosely on purpose: the spread schemas carry TypeBox's symbol keys, which declaration files cannot name. */
export const errorResponses: Record<400 | 401 | 403 | 404 | 413 | 429 | 500 | 502 | 503 | 504, TSchema> = {
  400: { description: 'Invalid request', ...ErrorBody },
  401: { description: 'Missing or invalid API key', ...ErrorBody },
  403: { description: 'Key not allowed to use this model', ...ErrorBody },
  404: { description: 'Unknown model', ...ErrorBody },
  413: { description: 'Body too large', ...ErrorBody },
  429: { description: 'Rate limited (gateway or upstream)', ...ErrorBody },
  500: { description: 'Gateway error', ...ErrorBody },
  502: { description: 'Upstream failed or answered garbage', ...ErrorBody },
  503: { description: 'No deployment available', ...ErrorBody },
  504: { description: 'Upstream timed out', ...ErrorBody },
}

export const security: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { apiKeyHeader: [] }]
