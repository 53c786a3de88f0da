// The OpenAI Responses API: POST /v1/responses through the request pipeline
// (passed through to providers with responsesApi: true, translated to
// canonical chat for the others), and the stored responses
// behind GET / DELETE /v1/responses/{id} and GET /v1/responses/{id}/input_items.
// The translation, the access rule and the conversation rebuild are pure
// (lib/frontdoors/responses/); the rows live in lib/storage/stored-responses.ts.
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  chatSseToResponses,
  chatToResponse,
  inputItemList,
  inputItems,
  loadHistory,
  mayAccess,
  nativeSseToClient,
  patchNativeResponse,
  responsesNativeJob,
  speaksResponses,
  ownerOf,
  responsesErrors,
  responsesToChat,
  ResponsesStreamTranslator,
  storedResponse,
  storedRow,
  type InputItem,
  type ItemListQuery,
  type Owner,
  type Response,
  type ResponsesRequest as ResponsesBody,
  type ResponsesTranslation,
} from '../../lib/frontdoors/responses/index.js'
import { randomId } from '../../lib/frontdoors/ids.js'
import { errors, GatewayError } from '../../lib/errors.js'
import type { ChatCompletion, ChatCompletionRequest } from '../../lib/openai/types.js'
import { createStoredResponses, type StoredResponses } from '../../lib/storage/stored-responses.js'
import { pipelineRequest, sendProxyResponse } from './proxy-route.js'
import { errorResponses, security } from './schemas.js'
import { DeletedResponse, InputItemList, InputItemsQuery, ResponseIdParams, ResponseObject, ResponsesRequest } from './responses-schemas.js'

const tags = ['Responses API']

/** The statuses a stored response may have: finished ones. */
const STORABLE = new Set(['completed', 'incomplete'])

/** A chat body good only for the estimate (limits, budgets) of a request only a native backend can take. */
function estimateOnlyChat(body: ResponsesBody): ChatCompletionRequest {
  const input = typeof body.input === 'string' ? body.input : JSON.stringify(body.input ?? '')
  const chat: ChatCompletionRequest = { model: String(body.model), messages: [{ role: 'user', content: input }] }
  if (typeof body.max_output_tokens === 'number') chat.max_completion_tokens = body.max_output_tokens
  if (body.stream === true) chat.stream = true
  return chat
}

function parseCompletion(body: unknown): ChatCompletion {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : undefined
  if (text === undefined) throw errors.upstreamBadResponse('expected a JSON answer')
  try {
    return JSON.parse(text) as ChatCompletion
  } catch {
    throw errors.upstreamBadResponse('the body is not valid JSON')
  }
}

export default async function responsesRoutes(app: FastifyInstance) {
  const store: StoredResponses = createStoredResponses(app.db)

  /** Stores a finished response; a failed write is logged, the client keeps its answer. */
  const save = async (request: FastifyRequest, response: Response, input: InputItem[], owner: Owner, depth: number) => {
    try {
      await store.save(storedRow(response, input, owner, depth))
    } catch (err) {
      request.log.error({ err, responseId: response.id }, 'storing the response failed')
    }
  }

  /** The row, when `request`'s key may read it; the same 404 otherwise. */
  const owned = async (request: FastifyRequest, id: string) => {
    const row = await store.find(id)
    if (!row || !mayAccess(row, ownerOf(request.identity!))) throw responsesErrors.responseNotFound(id)
    return row
  }

  app.post(
    '/responses',
    {
      config: { runsPipeline: true },
      schema: {
        tags,
        summary: 'Create a model response (streaming with stream: true)',
        description:
          'OpenAI Responses API on every backend: passed through to providers declared with responsesApi: true, translated to chat for the others. Stored (store defaults to true) for GET and previous_response_id, scoped to the key or its tenant. Streams are Server-Sent Events with the Responses semantic events (response.created … response.completed).',
        security,
        body: ResponsesRequest,
        response: {
          200: {
            description: 'A Response, or an SSE stream of Responses events when stream is true',
            content: {
              'application/json': { schema: ResponseObject },
              'text/event-stream': { schema: { type: 'string' } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const body = request.body as ResponsesBody
      const owner = ownerOf(request.identity!)
      let history: InputItem[] | undefined
      let depth = 1
      if (typeof body.previous_response_id === 'string') {
        const chain = await loadHistory((id) => store.find(id), body.previous_response_id, owner)
        history = chain.items
        depth = chain.depth
      }
      // Providers that speak the Responses API get the request as sent (lib/frontdoors/responses/native.ts);
      // a request only they can take (e.g. a computer-use tool) still goes to them.
      const anyNative = [...app.modelRouting.table.providers.values()].some(speaksResponses)
      let translation: ResponsesTranslation | undefined
      let untranslatable: GatewayError | undefined
      try {
        translation = responsesToChat(body, history ?? [])
      } catch (err) {
        if (!anyNative || !(err instanceof GatewayError)) throw err
        untranslatable = err
      }
      const input = inputItems(body.input)
      const stream = body.stream === true
      const keep = body.store !== false
      const id = randomId('resp_')
      const createdAt = Math.floor(Date.now() / 1000)

      const base = pipelineRequest(request, reply, 'responses')
      const native = anyNative ? responsesNativeJob({ request: body, history, untranslatable }) : undefined
      // The translated body, not the client's bytes; the usage chunk is always asked for (it carries the recorded usage).
      const result = await app.pipeline.run({ ...base, body: translation?.chat ?? estimateOnlyChat(body), raw: undefined, stream, includeUsage: stream, native })
      const aborted = () => base.signal?.aborted === true

      if (result.native) {
        const saveNative = (response: Record<string, unknown>) =>
          keep && STORABLE.has(String(response.status)) && typeof response.id === 'string' ? save(request, response as unknown as Response, input, owner, depth) : undefined
        if (!stream) {
          const response = patchNativeResponse(parseCompletion(result.body) as unknown as Record<string, unknown>, body)
          await saveNative(response)
          return sendProxyResponse(reply, request, { ...result, body: JSON.stringify(response) })
        }
        const events = nativeSseToClient(result.body as Readable | string | Buffer, body, { aborted, onComplete: saveNative })
        return sendProxyResponse(reply, request, { ...result, body: events })
      }
      const { context } = translation!
      if (!stream) {
        const response = chatToResponse(parseCompletion(result.body), { ...context, id, createdAt })
        if (context.store) await save(request, response, input, owner, depth)
        return sendProxyResponse(reply, request, { ...result, body: JSON.stringify(response) })
      }
      const translator = new ResponsesStreamTranslator({ ...context, id, createdAt })
      const events = chatSseToResponses(result.body as Readable | string | Buffer, translator, {
        aborted,
        onComplete: context.store ? (response) => save(request, response, input, owner, depth) : undefined,
      })
      return sendProxyResponse(reply, request, { ...result, body: events })
    },
  )

  app.get(
    '/responses/:id',
    {
      schema: {
        tags,
        summary: 'Retrieve a stored response',
        description: 'Only the key that created it, or a key of the same tenant, can read it; any other caller gets 404.',
        security,
        params: ResponseIdParams,
        response: { 200: ResponseObject, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string }
      const row = await owned(request, id)
      return reply.type('application/json').send(JSON.stringify(storedResponse(row)))
    },
  )

  app.delete(
    '/responses/:id',
    {
      schema: {
        tags,
        summary: 'Delete a stored response',
        description: 'It can no longer be retrieved or continued (previous_response_id); responses that continued it keep their own items.',
        security,
        params: ResponseIdParams,
        response: { 200: DeletedResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string }
      await owned(request, id)
      if (!(await store.delete(id))) throw responsesErrors.responseNotFound(id)
      return reply.send({ id, object: 'response', deleted: true })
    },
  )

  app.get(
    '/responses/:id/input_items',
    {
      schema: {
        tags,
        summary: "List a stored response's input items",
        description: 'The items sent as `input` with that response (a string input is one user message), newest first unless order=asc.',
        security,
        params: ResponseIdParams,
        querystring: InputItemsQuery,
        response: { 200: InputItemList, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string }
      const row = await owned(request, id)
      return reply.type('application/json').send(JSON.stringify(inputItemList(row, request.query as ItemListQuery)))
    },
  )
}
