// The body of a relayed stream: a Readable that an async relay loop writes
// into, with backpressure. It replaces `Readable.from(asyncGenerator)`, whose
// per-chunk promise and generator-request chains made every streamed
// request's objects survive young-generation collections: at 500 streams a
// second about 22 KB a request was promoted to the old generation, scavenges
// took 7 ms and mark-compacts ran every few seconds (issue 14; the figures
// are in README's Performance section).
import { Readable } from 'node:stream'

/** Thrown by write() once the consumer has gone (the body was destroyed). */
export class ConsumerGoneError extends Error {
  constructor() {
    super('the consumer of the stream went away')
    this.name = 'AbortError'
  }
}

export class RelayBody extends Readable {
  private waiting: (() => void) | undefined
  private started = false
  private ended = false
  /** True once the body was destroyed before the relay ended it: the consumer went away. */
  gone = false

  /**
   * @param relay the relay loop, started at the first read (as a generator
   *   would be), or when the body is destroyed unread, so that the outcome
   *   is recorded in every case. It must not reject.
   * @param onGone called once when the consumer goes away before the end
   *   (destroyed body): the relay aborts its upstream there, so a pending
   *   read ends at once instead of waiting for the upstream's next bytes.
   */
  constructor(
    private readonly relay: (body: RelayBody) => Promise<void>,
    private readonly onGone: () => void,
    highWaterMark = 16 * 1024,
  ) {
    super({ highWaterMark })
  }

  private start(): void {
    this.started = true
    this.relay(this).catch((err: unknown) => this.destroy(err as Error))
  }

  /**
   * Queues a chunk. Returns a promise when the consumer is not keeping up
   * (await it before the next write); undefined otherwise, so the common case
   * costs no promise. Throws ConsumerGoneError once the consumer has gone.
   */
  write(chunk: string): Promise<void> | undefined {
    if (this.gone) throw new ConsumerGoneError()
    if (this.push(chunk)) return undefined
    return new Promise<void>((resolve) => {
      this.waiting = resolve
    })
  }

  /** Ends the body (after the last write). */
  end(): void {
    if (this.ended) return
    this.ended = true
    this.push(null)
  }

  override _read(): void {
    if (!this.started) return this.start()
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.()
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.ended && !this.gone) {
      this.gone = true
      this.onGone()
    }
    // A relay waiting to write finds out at its next write; one never
    // started runs now and records the stream as abandoned.
    if (this.started) this._read()
    else this.start()
    callback(err)
  }
}

/** What a front door translates: the engine's relayed body (a stream), or a whole answer. */
export type RelayedSource = AsyncIterable<Buffer | string> | string | Buffer

/**
 * A front door's translation of a relayed stream, as a body: `pump` reads
 * `source` and writes its translation into the body (an async function with
 * `for await`, not a generator: see the top of this file); the body is ended
 * when it returns. A consumer that goes away destroys `source` at once, so
 * the engine's relay under it ends and records the stream as abandoned.
 */
export function pumpedBody(source: RelayedSource, pump: (body: RelayBody) => Promise<void>): RelayBody {
  return new RelayBody(
    async (body) => {
      try {
        await pump(body)
        body.end()
      } catch (err) {
        // The consumer went away: nothing more to send, the source is destroyed already.
        if (!(err instanceof ConsumerGoneError)) throw err
      }
    },
    () => (source as { destroy?: () => void }).destroy?.(),
  )
}

/** Writes a chunk, waiting only when the consumer is not keeping up. */
export async function send(body: RelayBody, chunk: string): Promise<void> {
  if (!chunk) return
  const wait = body.write(chunk)
  if (wait) await wait
}
