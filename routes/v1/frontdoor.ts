// What the front-door routes (/v1/messages, /v1/completions) share: the
// pipeline request for a body translated to the canonical chat shape, with
// the client's own form attached for the deployments that speak it.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { EntryPoint, PipelineRequest } from '../../lib/pipeline/types.js'
import type { ChatCompletionRequest } from '../../lib/openai/types.js'
import type { NativeJob, ProxyResponse } from '../../lib/proxy/types.js'
import { handOver } from './proxy-route.js'

export function frontDoorRequest(request: FastifyRequest, reply: FastifyReply, entryPoint: EntryPoint, body: ChatCompletionRequest, native: NativeJob): PipelineRequest {
  const stream = body.stream === true
  const signal = handOver(request, reply)
  return {
    id: request.id,
    entryPoint,
    operation: 'chat',
    identity: request.identity!,
    body,
    // No raw: the canonical body is the translation, not what the client sent.
    stream,
    // The front door's translator reads the usage chunk (it says whether the client gets it).
    includeUsage: stream,
    headers: request.headers,
    signal,
    startedAt: request.startedAt,
    native,
  }
}

/** A non-streamed canonical answer, parsed. */
export function canonicalJson(result: ProxyResponse): unknown {
  const body = result.body
  return JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : String(body))
}

/** One value of a header that may be repeated (joined with commas, as HTTP allows). */
export function headerString(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value.join(',') : value
  return v && v.length > 0 ? v : undefined
}
