// The Anthropic Messages API at the front door: POST /v1/messages (also
// ?beta=true, as Claude Code sends it) and /v1/messages/count_tokens, with
// Anthropic's error shape for every error on them. Anthropic deployments get
// the body as sent (lib/proxy/native-relay.ts); the others its chat
// translation, whose answer is translated back (lib/frontdoors/anthropic).
import { Readable } from 'node:stream'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { GatewayError } from '../../lib/errors.js'
import { toOpenAIError } from '../error-mapping.js'
import { discardRequestBody } from '../../lib/oversized-body.js'
import {
  anthropicError,
  chatToMessages,
  countTokens,
  messagesToChat,
  MessagesStreamTranslator,
  type MessagesRequest as MessagesBody,
  type MessagesTranslation,
} from '../../lib/frontdoors/anthropic/index.js'
import { anthropicNativeJob } from '../../lib/frontdoors/anthropic/native.js'
import { countTokensUpstream } from '../../lib/frontdoors/anthropic/count-upstream.js'
import { translateChatStream } from '../../lib/frontdoors/chat-stream.js'
import type { ChatCompletion, ChatCompletionRequest } from '../../lib/openai/types.js'
import { Pools } from '../../lib/proxy/pools.js'
import { upstreamPolicy } from '../../lib/security/upstream-guard.js'
import { RoutingPlanner } from '../../lib/routing/planner.js'
import { mergeTimeouts } from '../../lib/proxy/timeouts.js'
import { sendProxyResponse } from './proxy-route.js'
import { canonicalJson, frontDoorRequest, headerString } from './frontdoor.js'
import { security } from './schemas.js'
import { anthropicErrorResponses, CountTokensRequest, CountTokensResponse, MessageResponse, MessagesRequest } from './messages-schemas.js'

/** A canonical body good for estimates only, when the request cannot be translated (Anthropic deployments still take it). */
function estimateOnlyChat(body: MessagesBody): ChatCompletionRequest {
  return {
    model: body.model,
    messages: [{ role: 'user', content: JSON.stringify([body.system ?? '', body.messages ?? []]) }],
    max_completion_tokens: typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
  }
}

function translate(body: MessagesBody): { translation?: MessagesTranslation; untranslatable?: GatewayError } {
  try {
    return { translation: messagesToChat(body) }
  } catch (err) {
    if (err instanceof GatewayError) return { untranslatable: err }
    throw err
  }
}

export default async function messagesRoutes(app: FastifyInstance) {
  const bodyLimit = app.config.env.BODY_LIMIT_BYTES
  // count_tokens' own calls to Anthropic (the engine's pools are for attempts).
  const pools = new Pools(undefined, { policy: upstreamPolicy(app.config.env.ADMIN_UPSTREAM_ALLOW) })
  app.addHook('onClose', async () => {
    await pools.close()
  })

  // Anthropic's error shape and statuses for everything that fails on these
  // routes: auth, body parsing and validation, limits, budgets, upstreams.
  app.setErrorHandler(async (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') (err as { contentType?: string }).contentType = (request.headers['content-type'] ?? 'none').slice(0, 100)
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') await discardRequestBody(request.raw)
    const gatewayError = toOpenAIError(err, bodyLimit)
    if (gatewayError.statusCode >= 500 && !(err instanceof GatewayError)) request.log.error({ err }, 'unhandled error on /v1/messages')
    const attempts = (err as { attempts?: number }).attempts
    if (attempts) reply.header('x-switchyard-attempts', String(attempts))
    const out = anthropicError(gatewayError)
    return reply.code(out.status).headers(out.headers).send(out.body)
  })

  app.post(
    '/messages',
    {
      config: { runsPipeline: true },
      schema: {
        tags: ['Anthropic-compatible'],
        summary: 'Create a message (Anthropic Messages API; streaming with stream: true)',
        description:
          'Routes by `model` like chat. Anthropic deployments get the body as sent (only `model` rewritten, anthropic-beta forwarded); other backends get it translated to chat and the answer translated back. Streams are Anthropic SSE events. Authenticate with the gateway key as `x-api-key` or `Authorization: Bearer`.',
        security,
        body: MessagesRequest,
        response: {
          200: {
            description: 'A Message, or an SSE stream of Anthropic events when stream is true',
            content: {
              'application/json': { schema: MessageResponse },
              'text/event-stream': { schema: { type: 'string' } },
            },
          },
          ...anthropicErrorResponses,
        },
      },
    },
    async (request, reply) => {
      const body = request.body as MessagesBody
      const { translation, untranslatable } = translate(body)
      const chat = translation?.chat ?? estimateOnlyChat(body)
      if (body.stream === true) chat.stream = true
      const native = anthropicNativeJob({ raw: request.rawBody ?? JSON.stringify(body), parsed: body, beta: headerString(request.headers['anthropic-beta']), untranslatable })
      const pipelineRequest = frontDoorRequest(request, reply, 'messages', chat, native)
      const result = await app.pipeline.run(pipelineRequest)
      if (result.native || !translation) return sendProxyResponse(reply, request, result)
      if (body.stream !== true) {
        result.body = JSON.stringify(chatToMessages(canonicalJson(result) as ChatCompletion, translation.context))
        return sendProxyResponse(reply, request, result)
      }
      const estimated = (pipelineRequest as { estimate?: { promptTokens(): number } }).estimate?.promptTokens()
      const translator = new MessagesStreamTranslator({ ...translation.context, estimatedInputTokens: estimated })
      result.body = translateChatStream(result.body as Readable | string, translator)
      return sendProxyResponse(reply, request, result)
    },
  )

  app.post(
    '/messages/count_tokens',
    {
      schema: {
        tags: ['Anthropic-compatible'],
        summary: 'Count the input tokens of a message request',
        description:
          "Passed through to Anthropic's count_tokens when the model's first deployment is an Anthropic one; otherwise counted by the gateway (the deployment's tokenizer for OpenAI models, an approximation else). x-switchyard-token-count says which.",
        security,
        body: CountTokensRequest,
        response: { 200: CountTokensResponse, ...anthropicErrorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as MessagesBody
      let chat: ChatCompletionRequest
      let untranslatable: GatewayError | undefined
      try {
        chat = messagesToChat({ max_tokens: 1, ...(body as object) } as MessagesBody).chat
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err
        untranslatable = err
        chat = estimateOnlyChat(body)
      }
      // The pipeline's resolve and plan stages: the same permission checks as a message, nothing reserved or sent.
      const ctx = app.pipeline.preview({
        id: request.id, entryPoint: 'messages', operation: 'chat', identity: request.identity!, body: chat,
        stream: false, includeUsage: false, headers: request.headers, startedAt: request.startedAt,
      })
      const first = RoutingPlanner.deployments(ctx.plan!)[0]
      const table = app.modelRouting.table
      const provider = first ? table.providers.get(first.provider) : undefined
      if (first && provider && provider.settings.type === 'anthropic' && !provider.missingKey) {
        try {
          const counted = await countTokensUpstream({
            pools, provider, upstreamModel: first.upstreamModel, raw: request.rawBody ?? JSON.stringify(body), parsed: body,
            beta: headerString(request.headers['anthropic-beta']),
            timeoutMs: mergeTimeouts(table.timeouts, provider.timeouts, ctx.model.timeouts).totalMs,
          })
          reply.header('x-switchyard-token-count', 'upstream')
          return counted
        } catch (err) {
          // The client's own mistake is Anthropic's to say; an upstream that is down or garbled gets the gateway's count.
          const e = err as GatewayError
          if (e.statusCode >= 400 && e.statusCode < 500 && e.statusCode !== 429) throw err
          request.log.warn({ err: { code: e.code, message: e.message } }, 'count_tokens upstream failed; the gateway counted instead')
        }
      }
      if (untranslatable) throw untranslatable
      const counted = countTokens({ ...body }, { providerType: first?.providerType, upstreamModel: first?.upstreamModel })
      reply.header('x-switchyard-token-count', counted.method)
      return { input_tokens: counted.input_tokens }
    },
  )
}
