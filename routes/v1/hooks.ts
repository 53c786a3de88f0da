// What every /v1 route shares: a raw-preserving JSON parser, gateway-key
// auth, OpenAI-shaped errors, and the timing that feeds x-switchyard-overhead-ms.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors, GatewayError } from '../../lib/errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received, for byte-for-byte forwarding. */
    rawBody?: string
    /** performance.now() when the request arrived. */
    startedAt: number
  }
}

/** Maps anything thrown under /v1 to OpenAI's error JSON. */
export function toOpenAIError(err: FastifyError | GatewayError | Error, bodyLimit: number): GatewayError {
  if (err instanceof GatewayError) return err
  const e = err as FastifyError
  if (e.validation) {
    const first = e.validation[0]
    const path = (first?.instancePath ?? '').replace(/^\//, '').replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.')
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty
    const param = missing ? (path ? `${path}.${missing}` : missing) : path || null
    const message = missing ? `Missing required parameter: '${param}'.` : `Invalid value for '${param ?? 'body'}': ${first?.message ?? 'invalid'}.`
    return errors.invalidBody(message, param ?? undefined)
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.bodyTooLarge(bodyLimit)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(String((e as { contentType?: string }).contentType ?? 'unknown'))
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.invalidBody('The request body is empty: send a JSON object.')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.invalidBody('The content-length header does not match the body.')
  }
  if (e.statusCode === 400 && e.message) return errors.invalidBody(e.message)
  return errors.internal()
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
