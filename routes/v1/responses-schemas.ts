// JSON schemas of the Responses API routes (/v1/responses): loose on purpose.
// They catch a body that is not a Responses request at all; the translator
// (lib/frontdoors/responses/request.ts) names the field of anything finer.
// Unknown fields pass through.
import { Type } from '@sinclair/typebox'
import { ModelName } from './schemas.js'

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])
const Item = Type.Object({ type: Type.Optional(Type.String()) }, { additionalProperties: true, description: 'An input item: message, function_call, function_call_output, ...' })

export const ResponsesRequest = Type.Object(
  {
    model: ModelName,
    input: Type.Optional(Type.Union([Type.String(), Type.Array(Item)], { description: 'A user message, or a list of input items' })),
    instructions: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    previous_response_id: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()], {
      description: 'Continue a stored response of this key (or its tenant): its conversation is replayed before `input`',
    })),
    store: Type.Optional(Type.Union([Type.Boolean(), Type.Null()], { description: 'Keep the response for GET and previous_response_id (default true)' })),
    stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    tools: Type.Optional(Type.Array(Type.Object({ type: Type.String() }, { additionalProperties: true }))),
    tool_choice: Type.Optional(Type.Union([Type.String(), Type.Object({ type: Type.String() }, { additionalProperties: true })])),
    max_output_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    temperature: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 2 }), Type.Null()])),
    top_p: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])),
    parallel_tool_calls: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    metadata: Type.Optional(Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()])),
    text: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
    reasoning: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
    user: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'OpenAI Responses API request (docs/translation-responses.md says what each backend gets)' },
)

const Usage = Type.Object(
  {
    input_tokens: Type.Integer(),
    input_tokens_details: Type.Object({ cached_tokens: Type.Integer() }, { additionalProperties: true }),
    output_tokens: Type.Integer(),
    output_tokens_details: Type.Object({ reasoning_tokens: Type.Integer() }, { additionalProperties: true }),
    total_tokens: Type.Integer(),
  },
  { additionalProperties: true },
)

export const ResponseObject = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('response'),
    created_at: Type.Integer(),
    status: Type.Union(['completed', 'incomplete', 'failed', 'in_progress'].map((s) => Type.Literal(s))),
    model: Type.String(),
    output: Type.Array(Type.Object({ type: Type.String(), id: Type.String() }, { additionalProperties: true })),
    previous_response_id: Nullable(Type.String()),
    store: Type.Boolean(),
    usage: Type.Union([Usage, Type.Null()]),
  },
  { additionalProperties: true, description: 'A Response object' },
)

export const ResponseIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256, description: 'resp_…' }) })

export const DeletedResponse = Type.Object({ id: Type.String(), object: Type.Literal('response'), deleted: Type.Boolean() })

export const InputItemsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { description: 'Default desc (newest first), as OpenAI' })),
  after: Type.Optional(Type.String({ maxLength: 256 })),
  before: Type.Optional(Type.String({ maxLength: 256 })),
  include: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], { description: 'Accepted and ignored' })),
})

export const InputItemList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(Type.Object({ type: Type.String(), id: Type.String() }, { additionalProperties: true })),
  first_id: Type.Union([Type.String(), Type.Null()]),
  last_id: Type.Union([Type.String(), Type.Null()]),
  has_more: Type.Boolean(),
})
