import { test } from 'tap'
import { ensureStreamUsage, findTopLevelValue, rewriteModel } from '../../lib/proxy/body.js'

test('rewriteModel replaces only the top-level model value', async (t) => {
  const raw = '{"metadata":{"model":"inner"},"model":"public","messages":[{"role":"user","content":"{\\"model\\":1}"}],"n":1.0}'
  const out = rewriteModel(raw, 'upstream/x"y', JSON.parse(raw))
  t.equal(out, raw.replace('"model":"public"', '"model":"upstream/x\\"y"'))
  t.equal(JSON.parse(out).metadata.model, 'inner')
  const spaced = '{\n  "model" :  "a",\n  "x": [1, {"model": "b"}]\n}'
  t.equal(rewriteModel(spaced, 'c', JSON.parse(spaced)), '{\n  "model" :  "c",\n  "x": [1, {"model": "b"}]\n}')
  const escapedKey = '{"mod\\u0065l":"a"}'
  t.equal(rewriteModel(escapedKey, 'b', JSON.parse(escapedKey)), '{"mod\\u0065l":"b"}')
})

test('findTopLevelValue spans nested values and ignores nested keys', async (t) => {
  const raw = '{"a":{"b":[1,2,{"c":"}"}]},"b":true}'
  const span = findTopLevelValue(raw, 'b')
  t.same(span && raw.slice(span[0], span[1]), 'true')
  t.equal(findTopLevelValue(raw, 'c'), undefined)
  t.equal(findTopLevelValue('[1]', 'a'), undefined)
})

test('ensureStreamUsage adds or completes stream_options', async (t) => {
  const a = '{"model":"m","stream":true}'
  t.same(JSON.parse(ensureStreamUsage(a, JSON.parse(a))), { stream_options: { include_usage: true }, model: 'm', stream: true })
  const b = '{"model":"m","stream_options":{"x":1}}'
  t.same(JSON.parse(ensureStreamUsage(b, JSON.parse(b))), { model: 'm', stream_options: { x: 1, include_usage: true } })
  const c = '{"model":"m","stream_options":{"include_usage":true}}'
  t.equal(ensureStreamUsage(c, JSON.parse(c)), c)
  const d = '{"model":"m","stream_options":null}'
  t.same(JSON.parse(ensureStreamUsage(d, JSON.parse(d))), { model: 'm', stream_options: { include_usage: true } })
})
