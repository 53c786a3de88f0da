import { SseParser } from '../../lib/sse.js'

/** Splits an SSE body into its data payloads, JSON-parsed where possible. */
export function sseData(text: string): Array<Record<string, unknown> | string> {
  const parser = new SseParser()
  return [...parser.push(text), ...parser.end()].map((e) => {
    try {
      return JSON.parse(e.data) as Record<string, unknown>
    } catch {
      return e.data
    }
  })
}
