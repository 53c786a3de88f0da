// Incremental Server-Sent Events parser (WHATWG EventSource rules) that works
// on byte chunks as they arrive from the upstream, so a stream is translated
// chunk by chunk and never buffered whole.

export interface SseEvent {
  event?: string
  data: string
  id?: string
}

export class SseParser {
  private buffer = ''
  private dataLines: string[] = []
  private eventName: string | undefined
  private eventId: string | undefined
  private readonly decoder = new TextDecoder('utf-8')

  /** Feeds raw bytes or text; returns every event completed by this chunk. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true })
    const events: SseEvent[] = []
    let start = 0
    for (;;) {
      const nl = this.nextLineEnd(start)
      if (nl === -1) break
      const line = this.buffer.slice(start, nl)
      start = nl + (this.buffer[nl] === '\r' && this.buffer[nl + 1] === '\n' ? 2 : 1)
      this.processLine(line, events)
    }
    this.buffer = this.buffer.slice(start)
    return events
  }

  /** Flushes an event the upstream did not terminate with a blank line. */
  end(): SseEvent[] {
    const events: SseEvent[] = []
    if (this.buffer.length > 0) {
      this.processLine(this.buffer, events)
      this.buffer = ''
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
      this.eventName = undefined
      return
    }
    if (line.charCodeAt(0) === 58) return // ":" comment / keep-alive
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    if (field === 'data') this.dataLines.push(value)
    else if (field === 'event') this.eventName = value
    else if (field === 'id') this.eventId = value
  }
}

/** Serializes one SSE `data:` event the way OpenAI sends them. */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`
}

export const SSE_DONE = 'data: [DONE]\n\n'
