// What every /v1 route shares: a raw-preserving JSON parser, gateway-key
// auth, OpenAI-shaped errors, and the timing that feeds x-switchyard-overhead-ms.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors, GatewayError } from '../../lib/errors.js'
import { toOpenAIError } from '../error-mapping.js'
import { duplicateTopLevelKey } from '../../lib/proxy/body.js'
import { discardRequestBody } from '../../lib/oversized-body.js'
import { hitRequestLimit } from '../../lib/pipeline/stages/rate-limit.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route runs the request pipeline, whose rate-limit stage counts it. */
    runsPipeline?: boolean
  }
  interface FastifyRequest {
    /** The body exactly as received, for byte-for-byte forwarding. */
    rawBody?: string
    /** performance.now() when the request arrived. */
    startedAt: number
  }
}

/**
 * Deepest array/object nesting the /v1 parser accepts. JSON.parse copes with
 * far more, but the body is forwarded as is, and recursive consumers (request
 * translators, upstream JSON parsers) overflow their stacks on it.
 */
export const MAX_JSON_DEPTH = 256

/** True when `text` (valid JSON) nests arrays/objects deeper than `limit`; strings are skipped. */
export function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 34) {
      // A string: skip to its closing quote, escapes included.
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i)
        if (s === 92) i++
        else if (s === 34) break
      }
    } else if (c === 91 || c === 123) {
      if (++depth > limit) return true
    } else if (c === 93 || c === 125) {
      depth--
    }
  }
  return false
}

export function registerV1Hooks(app: FastifyInstance): void {
  const bodyLimit = app.config.env.BODY_LIMIT_BYTES

  // text/plain too: Fastify would hand the string to the schema, which answers a puzzling 400 instead of 415.
  app.removeContentTypeParser(['application/json', 'text/plain'])
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
    if (nestedDeeperThan(text, MAX_JSON_DEPTH)) {
      done(errors.invalidBody(`The request body nests arrays or objects more than ${MAX_JSON_DEPTH} levels deep.`))
      return
    }
    // JSON.parse keeps the last of two equal keys while the body is forwarded
    // as sent and edited in place (lib/proxy/body.ts): the gateway and the
    // upstream would read different requests (a second stream_options escaped
    // the usage the gateway asks for, and so its bill).
    const duplicate = duplicateTopLevelKey(text)
    if (duplicate !== undefined) {
      const name = duplicate.length > 64 ? `${duplicate.slice(0, 64)}…` : duplicate
      done(errors.invalidBody(`The request body has the top-level key "${name}" more than once; send each key once.`, name))
      return
    }
    done(null, parsed)
  })

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    request.startedAt = performance.now()
    const identity = app.authenticateKey(request)
    // Every /v1 call counts against the key's requests per minute: here for
    // the routes that do not run the pipeline (its first admission stage
    // counts the others, after their body is read).
    if (request.routeOptions.config.runsPipeline) return
    const headers = await hitRequestLimit(app.limits.requests, identity)
    if (headers) reply.headers(headers)
  })

  app.setErrorHandler(async (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // Fastify's 415 does not say which type it refused: name it (shortened) in the message.
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') (err as { contentType?: string }).contentType = (request.headers['content-type'] ?? 'none').slice(0, 100)
    // So that the client reads the 413 instead of a reset (lib/oversized-body.ts).
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') await discardRequestBody(request.raw)
    const gatewayError = toOpenAIError(err, bodyLimit)
    if (gatewayError.statusCode >= 500 && !(err instanceof GatewayError)) request.log.error({ err }, 'unhandled error on /v1')
    const attempts = (err as { attempts?: number }).attempts
    if (attempts) reply.header('x-switchyard-attempts', String(attempts))
    return reply.code(gatewayError.statusCode).headers(gatewayError.headers).send(gatewayError.toJSON())
  })

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const err = errors.notFound(request.method, request.url.split('?')[0]!)
    reply.code(404).send(err.toJSON())
  })
}
