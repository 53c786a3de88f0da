// Legacy completions at the front door: POST /v1/completions. OpenAI-compatible
// and Azure deployments get the body as sent (lib/proxy/native-relay.ts); the
// others (Anthropic, Gemini, the mock) its chat translation, whose answer is
// translated back (lib/frontdoors/completions). OpenAI's error shape.
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { GatewayError } from '../../lib/errors.js'
import {
  chatToCompletion,
  completionsToChat,
  CompletionsStreamTranslator,
  LEGACY_DEFAULT_MAX_TOKENS,
  type CompletionsRequest as CompletionsBody,
  type CompletionsTranslation,
} from '../../lib/frontdoors/completions/index.js'
import { completionsNativeJob } from '../../lib/frontdoors/completions/native.js'
import { translateChatStream } from '../../lib/frontdoors/chat-stream.js'
import type { ChatCompletion, ChatCompletionRequest } from '../../lib/openai/types.js'
import { sendProxyResponse } from './proxy-route.js'
import { canonicalJson, frontDoorRequest } from './frontdoor.js'
import { errorResponses, security } from './schemas.js'
import { CompletionResponse, CompletionsRequest } from './messages-schemas.js'

function estimateOnlyChat(body: CompletionsBody): ChatCompletionRequest {
  const prompt = typeof body.prompt === 'string' ? body.prompt : JSON.stringify(body.prompt ?? '')
  return { model: body.model, messages: [{ role: 'user', content: prompt }], max_completion_tokens: typeof body.max_tokens === 'number' ? body.max_tokens : LEGACY_DEFAULT_MAX_TOKENS }
}

export default async function completionsRoutes(app: FastifyInstance) {
  app.post(
    '/completions',
    {
      config: { runsPipeline: true },
      schema: {
        tags: ['OpenAI-compatible'],
        summary: 'Create a legacy text completion (streaming with stream: true)',
        description:
          'OpenAI-compatible and Azure deployments get the request as sent (only `model` rewritten); Anthropic and Gemini deployments get it as one chat user message and the answer is translated back. Several prompts, token-id prompts, suffix and best_of > 1 are refused (400) on translated backends.',
        security,
        body: CompletionsRequest,
        response: {
          200: {
            description: 'A text_completion, or an SSE stream of text_completion chunks ending with `data: [DONE]`',
            content: {
              'application/json': { schema: CompletionResponse },
              'text/event-stream': { schema: { type: 'string' } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const body = request.body as CompletionsBody
      let translation: CompletionsTranslation | undefined
      let untranslatable: GatewayError | undefined
      try {
        translation = completionsToChat(body)
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err
        untranslatable = err
      }
      const chat = translation?.chat ?? estimateOnlyChat(body)
      if (body.stream === true) chat.stream = true
      const native = completionsNativeJob({
        raw: request.rawBody ?? JSON.stringify(body), parsed: body, includeUsage: body.stream_options?.include_usage === true, untranslatable,
      })
      const result = await app.pipeline.run(frontDoorRequest(request, reply, 'completions', chat, native))
      if (result.native || !translation) return sendProxyResponse(reply, request, result)
      if (body.stream !== true) {
        result.body = JSON.stringify(chatToCompletion(canonicalJson(result) as ChatCompletion, translation.context))
        return sendProxyResponse(reply, request, result)
      }
      const translator = new CompletionsStreamTranslator(translation.context)
      result.body = translateChatStream(result.body as Readable | string, translator)
      return sendProxyResponse(reply, request, result)
    },
  )
}
