// Reading upstream response bodies, bounded: an upstream that sends too much
// is cut off (its connection destroyed, not drained), never buffered whole.
import type { Dispatcher } from 'undici'
import { errors, fromErrorInfo } from '../errors.js'
import type { ProviderAdapter } from '../providers/types.js'
import { attemptFailure, AttemptError } from './failures.js'
import type { AttemptDeadline } from './timeouts.js'
import type { AttemptRecord } from './types.js'

/** Default cap on a non-streamed upstream body (UPSTREAM_MAX_BODY_BYTES). */
export const DEFAULT_UPSTREAM_MAX_BODY_BYTES = 32 * 1024 * 1024
/** Default cap on one SSE line or event from an upstream (UPSTREAM_MAX_EVENT_BYTES). */
export const DEFAULT_UPSTREAM_MAX_EVENT_BYTES = 4 * 1024 * 1024

type Body = Dispatcher.ResponseData['body']

export function headerRecord(headers: Dispatcher.ResponseData['headers']): Record<string, string | string[] | undefined> {
  return headers as Record<string, string | string[] | undefined>
}

/** Stops reading: the connection is closed rather than drained of what is left. */
function cutOff(body: Body): void {
  body.destroy()
}

/** At most `limit` bytes of the body as text (error bodies, diagnostics); the rest is not read. */
export async function readText(body: Body, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    chunks.push(chunk as Buffer)
    size += (chunk as Buffer).length
    if (size >= limit) {
      cutOff(body)
      break
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8')
}

/**
 * The whole body, at most `maxBytes`. Beyond it (announced in content-length
 * or counted while reading) the attempt fails with a 502 naming
 * UPSTREAM_MAX_BODY_BYTES, and the connection is destroyed.
 */
export async function readBuffer(body: Body, maxBytes = DEFAULT_UPSTREAM_MAX_BODY_BYTES, headers?: Dispatcher.ResponseData['headers']): Promise<Buffer> {
  const tooLarge = () => {
    cutOff(body)
    return new AttemptError(errors.upstreamTooLarge('response body', maxBytes, 'UPSTREAM_MAX_BODY_BYTES'), 502, 'bad_response')
  }
  if (Number(headers?.['content-length']) > maxBytes) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > maxBytes) throw tooLarge()
    chunks.push(chunk as Buffer)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
}

/**
 * The start of an event stream, before anything is committed to the client:
 * chunks up to the first complete line (a line end in the bytes read), or the
 * end of the stream (done). A first line longer than maxLineBytes fails the
 * attempt with a 502 naming UPSTREAM_MAX_EVENT_BYTES, the connection destroyed.
 */
export async function readStreamHead(iterator: AsyncIterator<Buffer>, maxLineBytes = DEFAULT_UPSTREAM_MAX_EVENT_BYTES): Promise<IteratorResult<Buffer>> {
  const chunks: Buffer[] = []
  let size = 0
  for (;;) {
    const next = await iterator.next()
    if (next.done) break
    chunks.push(next.value)
    size += next.value.length
    if (next.value.includes(10) || next.value.includes(13)) break
    if (size > maxLineBytes) {
      void iterator.return?.()
      throw new AttemptError(errors.upstreamTooLarge('stream line', maxLineBytes, 'UPSTREAM_MAX_EVENT_BYTES'), 502, 'bad_response')
    }
  }
  if (chunks.length === 0) return { done: true, value: undefined }
  return { done: false, value: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) }
}

/**
 * The head of a streamed answer, before anything is committed to the client:
 * a stream request answered with something other than an event stream (a
 * JSON error body with a 200, an HTML page), a first line over the cap, or a
 * stream that ends before any data is a failed attempt (recorded, thrown as
 * an AttemptError, so it is retried or the next candidate is tried).
 */
export async function openEventStream(
  upstream: Dispatcher.ResponseData,
  deadline: AttemptDeadline,
  maxEventBytes: number | undefined,
  record: (ok: boolean, status: number, extra?: Partial<AttemptRecord>) => void,
): Promise<{ iterator: AsyncIterator<Buffer>; first: Buffer }> {
  const contentType = String(upstream.headers['content-type'] ?? '')
  if (contentType && !contentType.includes('text/event-stream')) {
    let text = ''
    try {
      text = await readText(upstream.body, 2048)
    } catch {
      // the content type alone decides
    }
    deadline.dispose()
    const failure = new AttemptError(errors.upstreamBadResponse(`expected an event stream, got ${contentType.split(';')[0]}${text ? `: ${text.slice(0, 120).replace(/\s+/g, ' ')}` : ''}`), 502, 'bad_response')
    record(false, upstream.statusCode, failure.recordExtra)
    throw failure
  }
  const iterator = (upstream.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  let first: IteratorResult<Buffer>
  try {
    // Up to the first complete line: one over the cap fails before anything is committed.
    first = await readStreamHead(iterator, maxEventBytes)
  } catch (err) {
    deadline.dispose()
    const failure = attemptFailure(err, deadline.reason)
    record(false, upstream.statusCode, failure.recordExtra)
    throw failure
  }
  if (first.done) {
    deadline.dispose()
    const failure = new AttemptError(errors.upstreamBadResponse('the stream ended before any data'), 502, 'bad_response')
    record(false, upstream.statusCode, { ...failure.recordExtra, error: 'empty_stream' })
    throw failure
  }
  return { iterator, first: first.value }
}

/**
 * An upstream answer with a status of 300 or more, as a failed attempt: the
 * provider's error (its body read best effort, secrets scrubbed), recorded
 * and thrown, with the upstream's retry-after.
 */
export async function failUpstreamStatus(
  upstream: Dispatcher.ResponseData,
  adapter: Pick<ProviderAdapter, 'error'>,
  secrets: readonly (string | undefined)[],
  deadline: AttemptDeadline,
  record: (ok: boolean, status: number, extra?: Partial<AttemptRecord>) => void,
): Promise<never> {
  let text = ''
  try {
    text = await readText(upstream.body)
  } catch {
    // The error body is best effort; the status alone is enough.
  }
  deadline.dispose()
  const info = adapter.error(upstream.statusCode, text, headerRecord(upstream.headers))
  const failure = new AttemptError(fromErrorInfo(info, secrets), upstream.statusCode, 'http', info.retryAfterSec !== undefined ? info.retryAfterSec * 1000 : undefined)
  record(false, upstream.statusCode, { ...failure.recordExtra, error: info.code ?? info.type })
  throw failure
}
