// A body with a key twice is refused (issue 9, point 2): JSON.parse keeps the
// last stream_options while the gateway edits the first in the forwarded
// bytes, so the upstream read a request without include_usage and the stream
// went unbilled.
import { before, test } from 'tap'
import { duplicateTopLevelKey } from '../../lib/proxy/body.js'
import { auth, buildTestApp } from '../helpers/app.js'
import { pricedGateway, records, startUpstream, warmWriterThread } from '../helpers/money.js'


before(warmWriterThread)

test('duplicateTopLevelKey: top-level keys only, compared decoded, one linear pass', async (t) => {
  t.equal(duplicateTopLevelKey('{"a":1,"b":2}'), undefined)
  t.equal(duplicateTopLevelKey('{"a":1,"b":{"a":2,"a":3},"c":[{"a":1},{"a":1}]}'), undefined, 'nested duplicates are not top-level')
  t.equal(duplicateTopLevelKey('{"stream_options":{"include_usage":true},"x":"}\\"{","stream_options":{}}'), 'stream_options')
  t.equal(duplicateTopLevelKey(' { "model" : "m" , "mod\\u0065l" : "n" } '), 'model', 'an escaped spelling is the same key')
  t.equal(duplicateTopLevelKey('{}'), undefined)
  t.equal(duplicateTopLevelKey('[1,2]'), undefined)
  // Linear: a body with 50,000 keys and a duplicate at the end is found (a quadratic scan would take minutes).
  const many = `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":{"v":[${i},"${'x'.repeat(20)}"]}`).join(',')},"k7":0}`
  t.equal(duplicateTopLevelKey(many), 'k7')
})

test('/v1 answers 400 naming the key, and nothing reaches the upstream', async (t) => {
  const up = await startUpstream(t, (_req, res) => res.end())
  const app = await buildTestApp(t, { gateway: pricedGateway(up.url) })
  const payload = '{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":false}}'
  const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...auth, 'content-type': 'application/json' }, payload })
  t.equal(res.statusCode, 400)
  const err = res.json().error
  t.equal(err.type, 'invalid_request_error')
  t.equal(err.param, 'stream_options')
  t.match(err.message, /top-level key "stream_options" more than once/)
  t.equal(up.received.length, 0)
  t.equal((await records(app)).length, 0)
  // The same body without the duplicate is served.
  const ok = await app.inject({ method: 'POST', url: '/v1/routing/estimate-cost', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"model":"m","messages":[{"role":"user","content":"hi"}]}' })
  t.equal(ok.statusCode, 200)
})
