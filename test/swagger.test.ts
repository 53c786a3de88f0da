import { test } from 'tap'
import { Validator } from '@seriousme/openapi-schema-validator'
import { buildTestApp } from './helpers/app.js'

test('the OpenAPI document is valid OpenAPI 3 and covers every route', async (t) => {
  const app = await buildTestApp(t, { gateway: { providers: [{ name: 'mock', type: 'mock' }], models: [{ name: 'm', deployments: [{ provider: 'mock' }] }] } })
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.match(doc.openapi, /^3\./)
  const validator = new Validator()
  const result = await validator.validate(doc)
  t.same(result.errors ?? [], [], 'no validation errors')
  t.equal(result.valid, true)
  for (const path of ['/v1/chat/completions', '/v1/embeddings', '/v1/models', '/health', '/health/ready']) {
    t.ok(doc.paths[path], `documents ${path}`)
  }
  t.ok(doc.paths['/v1/chat/completions'].post.requestBody, 'chat has a request body schema')
  t.ok(doc.paths['/v1/chat/completions'].post.responses['404'], 'chat documents its errors')
  // The Responses API: every route with its schemas.
  const responses = doc.paths['/v1/responses'].post
  t.ok(responses.requestBody.content['application/json'].schema.properties.previous_response_id, 'responses documents its request body')
  t.ok(responses.responses['200'].content['application/json'].schema.properties.output, 'and the Response')
  t.ok(responses.responses['200'].content['text/event-stream'], 'and the stream')
  t.ok(responses.responses['400'] && responses.responses['429'])
  const one = doc.paths['/v1/responses/{id}']
  t.ok(one.get.parameters.some((p: { name: string; in: string }) => p.name === 'id' && p.in === 'path'))
  t.ok(one.get.responses['200'].content['application/json'].schema.properties.usage)
  t.ok(one.get.responses['404'], 'retrieve documents its 404')
  t.ok(one.delete.responses['200'].content['application/json'].schema.properties.deleted)
  const items = doc.paths['/v1/responses/{id}/input_items'].get
  t.same(items.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name).sort(), ['after', 'before', 'include', 'limit', 'order'])
  t.ok(items.responses['200'].content['application/json'].schema.properties.has_more)
  const messages = doc.paths['/v1/messages'].post
  t.ok(messages.requestBody.content['application/json'].schema.properties.max_tokens, 'messages documents its request body')
  t.ok(messages.responses['200'].content['application/json'].schema.properties.stop_reason, 'and the Message')
  t.ok(messages.responses['200'].content['text/event-stream'], 'and the stream')
  t.ok(messages.responses['529'].content['application/json'].schema.properties.error, "and Anthropic's errors, overloaded included")
  t.same(messages.tags, ['Anthropic-compatible'])
  const count = doc.paths['/v1/messages/count_tokens'].post
  t.ok(count.responses['200'].content['application/json'].schema.properties.input_tokens, 'count_tokens documents its answer')
  t.ok(count.responses['403'], 'and its permission error')
  const completions = doc.paths['/v1/completions'].post
  t.ok(completions.requestBody.content['application/json'].schema.properties.prompt, 'completions documents its request body')
  t.ok(completions.responses['200'].content['application/json'].schema.properties.choices, 'and the text_completion')
  t.ok(completions.responses['200'].content['text/event-stream'] && completions.responses['400'], 'the stream and errors')
  const ui = await app.inject({ method: 'GET', url: '/docs' })
  t.ok([200, 302].includes(ui.statusCode), 'the UI answers')
})

test('health and readiness', async (t) => {
  const app = await buildTestApp(t, { gateway: { providers: [{ name: 'mock', type: 'mock' }], models: [{ name: 'm', deployments: [{ provider: 'mock' }] }] } })
  t.same((await app.inject({ url: '/health' })).json(), { status: 'ok' })
  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', checks: { database: 'ok', config: 'ok' } })
})
