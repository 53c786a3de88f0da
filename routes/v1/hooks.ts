// What every /v1 route shares: a raw-preserving JSON parser, gateway-key
// auth, OpenAI-shaped errors, and the timing that feeds x-switchyard-overhead-ms.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors, GatewayError } from '../../lib/errors.js'
import { toOpenAIError } from '../error-mapping.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received, for byte-for-byte forwarding. */
    rawBody?: string
    /** performance.now() when the request arrived. */
    startedAt: number
  }
}

export function registerV1Hooks(app: FastifyInstance): void {
  const bodyLimit = app.config.env.BODY_LIMIT_BYTES

  app.removeContentTypeParser(['application/json'])
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    const text = body as string
    request.rawBody = text
    if (text.length === 0) {
      done(errors.invalidBody('The request body is empty: send a JSON object.'))
      return
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      done(errors.invalidJson((err as Error).message))
      return
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      done(errors.invalidBody('The request body must be a JSON object.'))
      return
    }
    done(null, parsed)
  })

  app.addHook('onRequest', async (request: FastifyRequest) => {
    request.startedAt = performance.now()
    app.authenticateKey(request)
  })

  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const gatewayError = toOpenAIError(err, bodyLimit)
    if (gatewayError.statusCode >= 500 && !(err instanceof GatewayError)) request.log.error({ err }, 'unhandled error on /v1')
    const attempts = (err as { attempts?: number }).attempts
    if (attempts) reply.header('x-switchyard-attempts', String(attempts))
    reply.code(gatewayError.statusCode).headers(gatewayError.headers).send(gatewayError.toJSON())
  })

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const err = errors.notFound(request.method, request.url.split('?')[0]!)
    reply.code(404).send(err.toJSON())
  })
}
