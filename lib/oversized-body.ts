// A body over the limit is answered 413 with `connection: close`. Closing the
// socket while the client is still uploading makes the kernel reset the
// connection, and a reset can discard the 413 before the client reads it: the
// client sees EPIPE / ECONNRESET and SDKs retry the whole upload. So, like a
// web server's "lingering close", the rest of the body is read and thrown
// away first, within a byte cap and a time limit.
import type { IncomingMessage } from 'node:http'

/** Most bytes read and discarded after the limit was hit. */
export const DISCARD_MAX_BYTES = 64 * 1024 * 1024
/** Longest wait for the rest of the body. */
export const DISCARD_TIMEOUT_MS = 5_000

export type DiscardOutcome = 'ended' | 'over_cap' | 'timeout' | 'closed'

export interface DiscardOptions {
  maxBytes?: number
  timeoutMs?: number
}

/**
 * Reads and discards what is left of a request body. Resolves when the body
 * ended ('ended'), or when waiting longer is not worth it: more than maxBytes
 * announced or read ('over_cap'), timeoutMs passed ('timeout'), or the client
 * went away ('closed'). Never rejects; nothing is buffered.
 */
export function discardRequestBody(raw: IncomingMessage, options: DiscardOptions = {}): Promise<DiscardOutcome> {
  const maxBytes = options.maxBytes ?? DISCARD_MAX_BYTES
  const timeoutMs = options.timeoutMs ?? DISCARD_TIMEOUT_MS
  if (raw.readableEnded || raw.complete) return Promise.resolve('ended')
  if (raw.destroyed) return Promise.resolve('closed')
  const announced = Number(raw.headers['content-length'])
  if (announced > maxBytes) return Promise.resolve('over_cap')

  return new Promise((resolve) => {
    let read = 0
    const finish = (outcome: DiscardOutcome) => {
      clearTimeout(timer)
      raw.off('data', onData)
      raw.off('end', onEnd)
      raw.off('close', onClose)
      raw.off('error', onClose)
      resolve(outcome)
    }
    const onData = (chunk: Buffer) => {
      read += chunk.length
      if (read > maxBytes) finish('over_cap')
    }
    const onEnd = () => finish('ended')
    const onClose = () => finish(raw.complete ? 'ended' : 'closed')
    const timer = setTimeout(() => finish('timeout'), timeoutMs)
    timer.unref()
    raw.on('data', onData)
    raw.once('end', onEnd)
    raw.once('close', onClose)
    raw.once('error', onClose)
    raw.resume()
  })
}
