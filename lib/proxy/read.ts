// Reading upstream response bodies, bounded: an upstream that sends too much
// is cut off (its connection destroyed, not drained), never buffered whole.
import type { Dispatcher } from 'undici'
import { errors } from '../errors.js'
import { AttemptError } from './failures.js'

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
