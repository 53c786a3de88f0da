// The /v1 transport: turns a Fastify request into a pipeline request (the
// pipeline does the rest: lib/pipeline/pipeline.ts), and the pipeline's
// answer into the HTTP response with the routing headers.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ProxyResponse } from '../../lib/proxy/engine.js'
import { ClientGone } from '../../lib/proxy/cancel.js'
import type { EntryPoint, PipelineRequest } from '../../lib/pipeline/types.js'
import type { ChatCompletionRequest, EmbeddingsRequest } from '../../lib/openai/types.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The request was handed to the pipeline (which logs it). */
    ranPipeline?: boolean
  }
}

/**
 * The pipeline request for a /v1 call whose body is already in the
 * canonical (OpenAI) shape. The upstream call is cancelled when the client
 * goes away.
 */
export function pipelineRequest(request: FastifyRequest, reply: FastifyReply, entryPoint: EntryPoint): PipelineRequest {
  const body = request.body as ChatCompletionRequest | EmbeddingsRequest
  const chat = entryPoint !== 'embeddings'
  const stream = chat && (body as ChatCompletionRequest).stream === true
  const signal = handOver(request, reply)
  return {
    id: request.id,
    entryPoint,
    operation: chat ? 'chat' : 'embeddings',
    identity: request.identity!,
    body,
    raw: request.rawBody,
    stream,
    includeUsage: stream && (body as ChatCompletionRequest).stream_options?.include_usage === true,
    headers: request.headers,
    signal,
    startedAt: request.startedAt,
  }
}

/**
 * Hands a /v1 request over to the pipeline: from here on the pipeline writes
 * its access-log line, and the returned signal aborts the upstream call when
 * the client goes away before the answer is finished.
 */
export function handOver(request: FastifyRequest, reply: FastifyReply): ClientGone {
  request.ranPipeline = true
  const gone = new ClientGone()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) gone.abort()
  })
  return gone
}

// A lone surrogate cannot be encoded: it becomes U+FFFD.
const percentEncode = (c: string): string => {
  try {
    return encodeURIComponent(c)
  } catch {
    return '%EF%BF%BD'
  }
}

/** Longest value of a routing header the gateway writes. */
export const ROUTING_HEADER_MAX_LENGTH = 256

/**
 * A value safe to write as a header: printable ASCII, at most
 * ROUTING_HEADER_MAX_LENGTH characters. Anything else (a non-Latin-1 name from
 * the configuration, a control character) is percent-encoded, so that writing
 * the headers cannot throw once the upstream has answered (which would leave
 * the attempt's in-flight count and stream unsettled).
 */
export function headerValue(value: string): string {
  let v = /^[\x20-\x7E]*$/.test(value) ? value : value.replace(/[^\x20-\x7E]/gu, percentEncode)
  if (v.length > ROUTING_HEADER_MAX_LENGTH) v = `${v.slice(0, ROUTING_HEADER_MAX_LENGTH - 3)}...`
  return v
}

export function sendProxyResponse(reply: FastifyReply, request: FastifyRequest, result: ProxyResponse): FastifyReply {
  const d = result.deployment
  const overhead = result.overheadMs ?? Math.max(0, performance.now() - request.startedAt - result.upstreamMs)
  reply
    .code(result.status)
    .headers(result.headers)
    .header('x-switchyard-provider', headerValue(d.provider))
    .header('x-switchyard-deployment', headerValue(d.id))
    .header('x-switchyard-model', headerValue(d.upstreamModel))
    .header('x-switchyard-attempts', String(result.attempts))
  if (result.fallbackModel) reply.header('x-switchyard-fallback-model', headerValue(result.fallbackModel))
  reply
    .header('x-switchyard-overhead-ms', overhead.toFixed(3))
  return reply.send(result.body)
}
