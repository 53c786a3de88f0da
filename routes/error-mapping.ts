// Maps what Fastify throws (validation, body parsing) and what the gateway
// throws to one error shape: { error: { message, type, param, code } }.
import type { FastifyError } from 'fastify'
import { errors, GatewayError } from '../lib/errors.js'

/** Maps anything thrown under /v1 or /admin to OpenAI's error JSON. */
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

