// The official Anthropic SDK against the running gateway's /v1/messages, on
// an Anthropic upstream (passed through), an OpenAI-compatible one and a
// Gemini one (translated): create, stream with its final-message helper, a
// tool-use round trip, countTokens; every request in /admin/usage with its
// endpoint and cost.
import t from 'tap'
import Anthropic from '@anthropic-ai/sdk'
import { startMockOpenAI, type MockOpenAI } from '../mocks/openai.js'
import { listenTestApp, MASTER_KEY } from '../helpers/app.js'
import { startMockAnthropic, type MockAnthropic } from '../mocks/anthropic.js'
import { startMockGemini, type MockGemini } from '../mocks/gemini.js'
import { records, until } from '../helpers/money.js'
import { adminHeaders } from '../helpers/limits.js'

const oai: MockOpenAI = await startMockOpenAI({ apiKey: 'sk-openai-upstream' })
const ant: MockAnthropic = await startMockAnthropic({ apiKey: 'test-anthropic-key' })
const gem: MockGemini = await startMockGemini({ apiKey: 'test-gemini-key' })
t.teardown(() => Promise.all([oai.close(), ant.close(), gem.close()]))

// The OpenAI mock calls a tool whenever tools are offered; after a tool result it answers in words.
oai.behaviour((req) => {
  const messages = (req.body?.messages as Array<{ role: string; content: unknown }> | undefined) ?? []
  if (messages[messages.length - 1]?.role !== 'tool' || req.body?.stream === true) return undefined
  return {
    status: 200,
    body: {
      id: 'chatcmpl-after-tool', object: 'chat.completion', created: 1_700_000_000, model: 'gpt-upstream',
      choices: [{ index: 0, message: { role: 'assistant', content: `the tool said ${String(messages[messages.length - 1]!.content)}` }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 30, completion_tokens: 6, total_tokens: 36 },
    },
  }
})

const pricing = { input: 3, output: 15 }
const { app, url } = await listenTestApp(t, {
  gateway: {
    providers: [
      { name: 'oai', type: 'openai', baseUrl: `${oai.url}/v1`, apiKey: 'sk-openai-upstream' },
      { name: 'claude', type: 'anthropic', baseUrl: ant.url, apiKey: 'test-anthropic-key' },
      { name: 'gem', type: 'gemini', baseUrl: gem.url, apiKey: 'test-gemini-key' },
    ],
    models: [
      { name: 'm-claude', deployments: [{ provider: 'claude', model: 'claude-upstream', pricing }] },
      { name: 'm-openai', deployments: [{ provider: 'oai', model: 'gpt-upstream', pricing }] },
      { name: 'm-gemini', deployments: [{ provider: 'gem', model: 'gemini-2.0-flash', pricing }] },
    ],
    routing: { strategy: 'model', retries: { attempts: 0 }, cooldown: { enabled: false } },
  },
})

const client = new Anthropic({ apiKey: MASTER_KEY, baseURL: url, maxRetries: 0 })
const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}

for (const backend of ['m-claude', 'm-openai', 'm-gemini'] as const) {
  t.test(`${backend}: messages.create`, async (t) => {
    const message = await client.messages.create({ model: backend, max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] })
    t.equal(message.type, 'message')
    t.equal(message.role, 'assistant')
    t.equal(message.content[0]?.type, 'text')
    const text = (message.content[0] as Anthropic.TextBlock).text
    t.match(text, /echo/, 'the upstream answered')
    t.equal(message.stop_reason, 'end_turn')
    t.ok(message.usage.input_tokens > 0, 'input tokens reported')
    t.ok(message.usage.output_tokens > 0, 'output tokens reported')
    if (backend === 'm-claude') {
      const sent = ant.requests[ant.requests.length - 1]!
      t.equal(sent.body.model, 'claude-upstream', 'model rewritten')
      t.equal(sent.body.system, 'Be brief.', 'body passed through as sent')
      t.equal(message.id, `msg_mock_${ant.requests.length}`, 'the upstream message as is')
    }
  })

  t.test(`${backend}: messages.stream and finalMessage`, async (t) => {
    const stream = client.messages.stream({ model: backend, max_tokens: 100, messages: [{ role: 'user', content: 'stream me' }] })
    const types: string[] = []
    let deltas = ''
    stream.on('streamEvent', (event) => {
      types.push(event.type)
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') deltas += event.delta.text
    })
    const final = await stream.finalMessage()
    t.equal(types[0], 'message_start')
    t.equal(types[types.length - 1], 'message_stop')
    t.ok(types.includes('content_block_start') && types.includes('content_block_stop') && types.includes('message_delta'), 'the full event sequence')
    const text = (final.content[0] as Anthropic.TextBlock).text
    t.ok(text.length > 0, 'final text')
    t.equal(text, deltas, 'the final message is the deltas joined')
    t.equal(final.stop_reason, 'end_turn')
    t.ok(final.usage.output_tokens > 0)
  })

  t.test(`${backend}: a tool-use round trip`, async (t) => {
    const first = await client.messages.create({ model: backend, max_tokens: 200, tools: [weather], messages: [{ role: 'user', content: 'weather in Paris?' }] })
    t.equal(first.stop_reason, 'tool_use')
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')
    t.ok(use, 'a tool_use block')
    t.equal(use?.name, 'get_weather')
    t.same(use?.input, { city: 'Paris' })
    const second = await client.messages.create({
      model: backend,
      max_tokens: 200,
      tools: [weather],
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: 'sunny, 21C' }] },
      ],
    })
    t.equal(second.stop_reason, 'end_turn')
    const text = second.content.filter((b): b is Anthropic.TextBlock => b.type === 'text').map((b) => b.text).join('')
    // The Gemini mock echoes the last user text; the others answer with the tool result.
    if (backend !== 'm-gemini') t.match(text, /sunny, 21C/, 'the answer saw the tool result')
    else t.ok(text.length > 0, 'an answer in words')
    if (backend === 'm-openai') {
      const sent = oai.requests[oai.requests.length - 1]!.body as { messages: Array<Record<string, unknown>> }
      const tool = sent.messages.find((m) => m.role === 'tool')
      t.same(tool, { role: 'tool', tool_call_id: use!.id, content: 'sunny, 21C' }, 'the tool result went upstream as a tool message')
    }
    if (backend === 'm-gemini') {
      const sent = gem.requests[gem.requests.length - 1]!.body as { contents: Array<{ parts: Array<Record<string, unknown>> }> }
      const response = sent.contents.flatMap((c) => c.parts).find((p) => p.functionResponse)
      t.match(JSON.stringify(response), /sunny, 21C/, 'the tool result went upstream as a functionResponse')
    }
  })

  t.test(`${backend}: countTokens`, async (t) => {
    const counted = await client.messages.countTokens({ model: backend, messages: [{ role: 'user', content: 'count these words please' }] })
    t.ok(counted.input_tokens > 0)
    if (backend === 'm-claude') {
      t.ok(counted.input_tokens > 1000, "Anthropic's own count (the mock adds 1000)")
      const sent = ant.requests[ant.requests.length - 1]!
      t.equal(sent.path, '/v1/messages/count_tokens')
      t.equal(sent.body.model, 'claude-upstream')
    } else {
      t.ok(counted.input_tokens < 1000, "the gateway's own count")
    }
  })
}

t.test('a streamed tool use through a translated backend', async (t) => {
  const stream = client.messages.stream({ model: 'm-openai', max_tokens: 100, tools: [weather], messages: [{ role: 'user', content: 'weather?' }] })
  const final = await stream.finalMessage()
  t.equal(final.stop_reason, 'tool_use')
  const use = final.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock
  t.same(use.input, { city: 'Paris' }, 'input_json_delta fragments joined')
})

t.test('every request is in /admin/usage with endpoint messages and a cost', async (t) => {
  const messages = async () => (await records(app)).filter((r) => r.endpoint === 'messages')
  // 3 backends x (create, stream, 2 tool calls) + the streamed tool use; count_tokens is not a completion.
  // A batch the database refused under load is written again at the next flush: wait for it.
  await until(async () => (await messages()).length >= 3 * 4 + 1)
  const rows = await messages()
  t.equal(rows.length, 3 * 4 + 1)
  for (const row of rows) {
    t.equal(row.status, 200, `${row.model} ${row.stream ? 'stream' : 'json'} ok`)
    t.ok(row.promptTokens > 0 && row.completionTokens > 0, 'tokens recorded')
    t.ok(row.costUsd > 0, 'cost recorded')
  }
  t.same(new Set(rows.map((r) => r.provider)), new Set(['claude', 'oai', 'gem']))
  const claudeStream = rows.find((r) => r.provider === 'claude' && r.stream)!
  t.equal(claudeStream.usageSource, 'upstream', 'native stream usage read from the Anthropic events')
  const admin = await app.inject({ method: 'GET', url: '/admin/usage?groupBy=endpoint', headers: adminHeaders(app) })
  t.equal(admin.statusCode, 200)
  const line = (admin.json() as { data: Array<{ endpoint: string; requests: number; costUsd: number }> }).data.find((d) => d.endpoint === 'messages')
  t.equal(line?.requests, rows.length, '/admin/usage counts them under endpoint messages')
  t.ok((line?.costUsd ?? 0) > 0, 'with their cost')
})
