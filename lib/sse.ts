// Incremental Server-Sent Events parser (WHATWG EventSource rules) that works
// on byte chunks as they arrive from the upstream, so a stream is translated
// chunk by chunk and never buffered whole.

export interface SseEvent {
  event?: string
  data: string
  id?: string
}

/** A line or an event longer than the parser's cap. */
export class SseTooLargeError extends Error {
  constructor(readonly what: 'line' | 'event', readonly limit: number) {
    super(`an SSE ${what} exceeds ${limit} bytes`)
    this.name = 'SseTooLargeError'
  }
}

export interface SseParserOptions {
  /**
   * Longest line and longest event (its data lines together), measured in
   * UTF-16 code units of the decoded text: never more than the UTF-8 bytes.
   * Past it push() (or end()) throws SseTooLargeError, once the events
   * completed before the overflow have been returned. Default: unbounded.
   */
  maxEventSize?: number
}

export class SseParser {
  private buffer = ''
  /** How far into `buffer` there is known to be no line end (the scan resumes there). */
  private scanned = 0
  private dataLines: string[] = []
  private dataSize = 0
  private eventName: string | undefined
  private eventId: string | undefined
  private readonly decoder = new TextDecoder('utf-8')
  private readonly maxEventSize: number
  /** Set on overflow: thrown by the next push() or end(), after the events already complete are handed out. */
  private overflow: SseTooLargeError | undefined

  constructor(options: SseParserOptions = {}) {
    this.maxEventSize = options.maxEventSize ?? Infinity
  }

  /** Feeds raw bytes or text; returns every event completed by this chunk. */
  push(chunk: Uint8Array | string): SseEvent[] {
    if (this.overflow) throw this.overflow
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true })
    const events: SseEvent[] = []
    let start = 0
    for (let from = this.scanned; !this.overflow; from = start) {
      const nl = this.nextLineEnd(from)
      if (nl === -1) break
      const line = this.buffer.slice(start, nl)
      start = nl + (this.buffer[nl] === '\r' && this.buffer[nl + 1] === '\n' ? 2 : 1)
      this.processLine(line, events)
    }
    this.buffer = this.buffer.slice(start)
    // A trailing CR may be half of a CRLF: looked at again with the next chunk.
    this.scanned = this.buffer.endsWith('\r') ? this.buffer.length - 1 : this.buffer.length
    if (!this.overflow && this.buffer.length > this.maxEventSize) this.overflow = new SseTooLargeError('line', this.maxEventSize)
    if (this.overflow) {
      // Nothing more is parsed: the stream is to be cut off.
      this.buffer = ''
      if (events.length === 0) throw this.overflow
    }
    return events
  }

  /** Flushes an event the upstream did not terminate with a blank line. */
  end(): SseEvent[] {
    if (this.overflow) throw this.overflow
    const events: SseEvent[] = []
    if (this.buffer.length > 0) {
      this.processLine(this.buffer, events)
      this.buffer = ''
      this.scanned = 0
    }
    this.processLine('', events)
    return events
  }

  private nextLineEnd(from: number): number {
    for (let i = from; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i)
      if (c === 10) return i
      if (c === 13) {
        // A lone CR at the very end may be the first half of CRLF: wait.
        if (i === this.buffer.length - 1) return -1
        return i
      }
    }
    return -1
  }

  private processLine(line: string, events: SseEvent[]): void {
    if (line === '') {
      if (this.dataLines.length > 0) {
        const ev: SseEvent = { data: this.dataLines.join('\n') }
        if (this.eventName !== undefined) ev.event = this.eventName
        if (this.eventId !== undefined) ev.id = this.eventId
        events.push(ev)
      }
      this.dataLines = []
      this.dataSize = 0
      this.eventName = undefined
      return
    }
    if (line.charCodeAt(0) === 58) return // ":" comment / keep-alive
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    if (field === 'data') {
      this.dataSize += value.length + 1
      if (this.dataSize > this.maxEventSize) {
        this.overflow = new SseTooLargeError('event', this.maxEventSize)
        this.dataLines = []
        return
      }
      this.dataLines.push(value)
    } else if (field === 'event') this.eventName = value
    else if (field === 'id') this.eventId = value
  }
}

/** Serializes one SSE `data:` event the way OpenAI sends them. */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`
}

export const SSE_DONE = 'data: [DONE]\n\n'
