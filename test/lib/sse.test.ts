import { test } from 'tap'
import { SseParser, sseData } from '../../lib/sse.js'

test('parses events split across chunks, CRLF and comments', async (t) => {
  const p = new SseParser()
  const all = [
    ...p.push('event: message_start\r\nda'),
    ...p.push('ta: {"a":1}\r\n\r'),
    ...p.push('\n: keep-alive\n\ndata: line1\ndata: line2\n\n'),
    ...p.push('data: tail'),
    ...p.end(),
  ]
  t.same(all, [
    { event: 'message_start', data: '{"a":1}' },
    { data: 'line1\nline2' },
    { data: 'tail' },
  ])
})

test('decodes multi-byte characters split between chunks', async (t) => {
  const bytes = Buffer.from('data: héllo ✓\n\n')
  const p = new SseParser()
  const out = [...p.push(bytes.subarray(0, 8)), ...p.push(bytes.subarray(8))]
  t.same(out, [{ data: 'héllo ✓' }])
})

test('sseData serializes objects and strings', async (t) => {
  t.equal(sseData({ a: 1 }), 'data: {"a":1}\n\n')
  t.equal(sseData('[DONE]'), 'data: [DONE]\n\n')
})
