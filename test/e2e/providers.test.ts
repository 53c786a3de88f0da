// One gateway, four real upstream servers (OpenAI-compatible, Azure, Anthropic,
// Gemini) and the official openai SDK: the same client code, changing only
// `model`, must get equivalent answers, streams, tool calls and errors. Each
// upstream's own wire format is checked on the mock side.
import t from 'tap'
import OpenAI from 'openai'
import { mockUsage, startMockOpenAI, type MockOpenAI } from '../mocks/openai.js'
import { listenTestApp, MASTER_KEY, auth } from '../helpers/app.js'
import { defaultMessage, startMockAnthropic, type MockAnthropic } from '../mocks/anthropic.js'
import { defaultAnswer, mockEmbedding, startMockGemini, type MockGemini } from '../mocks/gemini.js'
import { sseData } from '../helpers/sse.js'

type Kind = 'openai' | 'azure' | 'anthropic' | 'gemini'

const OPENAI_STREAM_CHUNKS = 4
const OPENAI_KEY = 'sk-openai-upstream'
const AZURE_KEY = 'azure-upstream-key'

/** Bounds every wait: a hang fails the test instead of stalling the run. */
async function bounded<T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, limit])
  } finally {
    clearTimeout(timer)
  }
}

// ---------------------------------------------------------------- setup

const oai: MockOpenAI = await startMockOpenAI({ streamChunks: OPENAI_STREAM_CHUNKS, apiKey: OPENAI_KEY })
const az: MockOpenAI = await startMockOpenAI({ streamChunks: OPENAI_STREAM_CHUNKS, apiKey: AZURE_KEY, azure: true })
const ant: MockAnthropic = await startMockAnthropic({ apiKey: 'test-anthropic-key' })
const gem: MockGemini = await startMockGemini({ apiKey: 'test-gemini-key' })
t.teardown(() => Promise.all([oai.close(), az.close(), ant.close(), gem.close()]))

const gateway = {
  providers: [
    { name: 'oai', type: 'openai', baseUrl: `${oai.url}/v1`, apiKey: OPENAI_KEY },
    { name: 'az', type: 'azure', baseUrl: az.url, apiKey: AZURE_KEY, apiVersion: '2024-10-21' },
    { name: 'claude', type: 'anthropic', baseUrl: ant.url, apiKey: 'test-anthropic-key' },
    { name: 'gem', type: 'gemini', baseUrl: gem.url, apiKey: 'test-gemini-key' },
  ],
  models: [
    { name: 'm-openai', deployments: [{ provider: 'oai', model: 'gpt-upstream' }] },
    { name: 'm-azure', deployments: [{ provider: 'az', model: 'my-azure-deployment' }] },
    { name: 'm-claude', deployments: [{ provider: 'claude', model: 'claude-upstream' }] },
    { name: 'm-gemini', deployments: [{ provider: 'gem', model: 'gemini-2.0-flash' }] },
    { name: 'e-openai', deployments: [{ provider: 'oai', model: 'text-embedding-upstream' }] },
    { name: 'e-gemini', deployments: [{ provider: 'gem', model: 'gemini-embedding-001' }] },
    { name: 'e-claude', deployments: [{ provider: 'claude', model: 'claude-upstream' }] },
  ],
  // One attempt per request and no circuit breaker: the error-mapping tests
  // below must see each scripted upstream failure as is (retries, fallbacks
  // and cool-downs are covered in test/resilience/).
  routing: { strategy: 'model', patterns: [{ match: 'claude-*', provider: 'claude' }], retries: { attempts: 0 }, cooldown: { enabled: false } },
}

const { url } = await listenTestApp(t, { gateway })

/** Every request body the SDK sent, exactly as serialized. */
const sent: string[] = []
const capturingFetch: typeof fetch = (input, init) => {
  if (typeof init?.body === 'string') sent.push(init.body)
  return fetch(input, init)
}
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0, timeout: 10_000, fetch: capturingFetch })

interface Target {
  kind: Kind
  model: string
  upstreamModel: string
  /** Number of requests the upstream has recorded so far. */
  count(): number
  /** The JSON body of the upstream's most recent request. */
  lastBody(): any
  /** The raw body of the upstream's most recent request (OpenAI-shaped upstreams). */
  lastRaw(): string
  /** What the upstream streams back for a user text. */
  streamText(userText: string): string
  /** Usage the upstream reported for its last non-streamed answer, in OpenAI terms. */
  usage(): { prompt_tokens: number; completion_tokens: number; total_tokens: number }
  /** Usage the upstream reported for its last streamed answer, in OpenAI terms. */
  streamUsage(): { prompt_tokens: number; completion_tokens: number; total_tokens: number }
}

function openaiTarget(kind: 'openai' | 'azure', mock: MockOpenAI, model: string, upstreamModel: string): Target {
  const last = () => mock.requests[mock.requests.length - 1]!
  const usage = () => {
    const u = mockUsage(last().body)
    return { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens }
  }
  return {
    kind,
    model,
    upstreamModel,
    count: () => mock.requests.length,
    lastBody: () => last().body,
    lastRaw: () => last().raw,
    streamText: () => ['echo:', ...Array.from({ length: OPENAI_STREAM_CHUNKS - 1 }, (_, i) => ` t${i + 1}`)].join(''),
    usage,
    streamUsage: usage,
  }
}

const anthropicUsage = () => {
  const n = ant.requests.length - 1
  const u = defaultMessage(ant.requests[n]!.body, n).usage
  return { prompt_tokens: u.input_tokens, completion_tokens: u.output_tokens, total_tokens: u.input_tokens + u.output_tokens }
}
const geminiUsage = () => {
  const u = defaultAnswer(gem.requests[gem.requests.length - 1]!.body).usage
  return { prompt_tokens: u.promptTokenCount!, completion_tokens: u.candidatesTokenCount!, total_tokens: u.totalTokenCount! }
}

const TARGETS: Target[] = [
  openaiTarget('openai', oai, 'm-openai', 'gpt-upstream'),
  openaiTarget('azure', az, 'm-azure', 'my-azure-deployment'),
  {
    kind: 'anthropic',
    model: 'm-claude',
    upstreamModel: 'claude-upstream',
    count: () => ant.requests.length,
    lastBody: () => ant.requests[ant.requests.length - 1]!.body,
    lastRaw: () => ant.requests[ant.requests.length - 1]!.rawBody,
    streamText: (text) => `echo: ${text}`,
    usage: anthropicUsage,
    streamUsage: anthropicUsage,
  },
  {
    kind: 'gemini',
    model: 'm-gemini',
    upstreamModel: 'gemini-2.0-flash',
    count: () => gem.requests.length,
    lastBody: () => gem.requests[gem.requests.length - 1]!.body,
    lastRaw: () => JSON.stringify(gem.requests[gem.requests.length - 1]!.body),
    streamText: (text) => `echo: ${text}`,
    usage: geminiUsage,
    streamUsage: geminiUsage,
  },
]

const WEATHER_TOOL: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

interface StreamResult {
  text: string
  chunks: OpenAI.ChatCompletionChunk[]
  finishReasons: Array<string | null>
  tools: Array<{ id: string; name: string; arguments: string }>
}

/** Consumes an SDK stream, reassembling text and tool calls like a client does. */
async function consume(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<StreamResult> {
  const out: StreamResult = { text: '', chunks: [], finishReasons: [], tools: [] }
  for await (const chunk of stream) {
    out.chunks.push(chunk)
    for (const choice of chunk.choices) {
      out.text += choice.delta.content ?? ''
      for (const call of choice.delta.tool_calls ?? []) {
        const slot = (out.tools[call.index] ??= { id: '', name: '', arguments: '' })
        if (call.id) slot.id = call.id
        if (call.function?.name) slot.name += call.function.name
        if (call.function?.arguments) slot.arguments += call.function.arguments
      }
      if (choice.finish_reason) out.finishReasons.push(choice.finish_reason)
    }
  }
  return out
}

// ---------------------------------------------------------------- chat

t.test('plain chat: same answer shape from every upstream', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.kind, async (t) => {
      const before = target.count()
      const res = await client.chat.completions.create({ model: target.model, messages: [{ role: 'user', content: 'hello there' }] })
      t.equal(target.count(), before + 1, 'exactly one upstream call')
      t.equal(res.object, 'chat.completion')
      t.equal(res.choices.length, 1)
      t.equal(res.choices[0]!.message.role, 'assistant')
      t.equal(res.choices[0]!.message.content, 'echo: hello there')
      t.equal(res.choices[0]!.finish_reason, 'stop')
      t.notOk(res.choices[0]!.message.tool_calls?.length, 'no tool calls')
      t.match(res.usage, target.usage(), 'usage is what the upstream reported')
      t.equal(res.usage!.total_tokens, res.usage!.prompt_tokens + res.usage!.completion_tokens)
      t.equal(typeof res.id, 'string')
      t.ok(res.id.length > 0)
    })
  }
})

t.test('streaming without include_usage: text, finish, no usage chunk, [DONE]', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.kind, async (t) => {
      const stream = await client.chat.completions.create({
        model: target.model, stream: true, messages: [{ role: 'user', content: 'stream this please' }],
      })
      const r = await bounded('stream', consume(stream))
      t.equal(r.text, target.streamText('stream this please'))
      t.same(r.finishReasons, ['stop'], 'exactly one finish_reason, stop')
      t.equal(r.chunks.filter((c) => c.choices.length === 0).length, 0, 'no usage-only chunk')
      t.equal(r.chunks.filter((c) => c.usage).length, 0, 'no usage anywhere')
      t.equal(r.chunks[r.chunks.length - 1]!.choices[0]!.finish_reason, 'stop', 'the finish chunk is last')
      t.equal(r.chunks[0]!.choices[0]!.delta.role, 'assistant', 'the first chunk carries the role')
      t.ok(r.chunks.every((c) => c.object === 'chat.completion.chunk'))
      t.equal(new Set(r.chunks.map((c) => c.id)).size, 1, 'one id across the stream')
    })
  }
})

t.test('streaming with include_usage: one trailing usage chunk with the upstream numbers', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.kind, async (t) => {
      const stream = await client.chat.completions.create({
        model: target.model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'count me' }],
      })
      const r = await bounded('stream', consume(stream))
      t.equal(r.text, target.streamText('count me'))
      t.same(r.finishReasons, ['stop'])
      const usageChunks = r.chunks.filter((c) => c.usage)
      t.equal(usageChunks.length, 1, 'exactly one chunk with usage')
      const last = r.chunks[r.chunks.length - 1]!
      t.equal(last, usageChunks[0], 'the usage chunk is the last one')
      t.same(last.choices, [], 'the usage chunk has no choices')
      t.match(last.usage, target.streamUsage())
    })
  }
})

t.test('raw SSE framing: every stream ends with data: [DONE]', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.kind, async (t) => {
      const res = await bounded('raw stream', fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ model: target.model, stream: true, messages: [{ role: 'user', content: 'raw' }] }),
      }).then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), text: await r.text() })))
      t.equal(res.status, 200)
      t.match(res.type, /^text\/event-stream/)
      const events = sseData(res.text)
      t.equal(events[events.length - 1], '[DONE]')
      t.equal(events.filter((e) => e === '[DONE]').length, 1)
      t.notOk(events.some((e) => typeof e === 'object' && 'error' in e), 'no error event')
    })
  }
})

// ---------------------------------------------------------------- tools

t.test('tool calls, non-streamed', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.kind, async (t) => {
      const res = await client.chat.completions.create({
        model: target.model, messages: [{ role: 'user', content: 'weather in Paris?' }], tools: [WEATHER_TOOL],
      })
      const choice = res.choices[0]!
      t.equal(choice.finish_reason, 'tool_calls')
      const calls = choice.message.tool_calls ?? []
      t.equal(calls.length, 1)
      const call = calls[0] as OpenAI.ChatCompletionMessageFunctionToolCall
      t.equal(call.type, 'function')
      t.equal(call.function.name, 'get_weather')
      t.same(JSON.parse(call.function.arguments), { city: 'Paris' })
      t.equal(typeof call.id, 'string')
      t.ok(call.id.length > 0, 'the call has an id')
      t.notOk(choice.message.content, 'no text alongside the call')
    })
  }
})

t.test('tool calls, streamed', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.kind, async (t) => {
      const stream = await client.chat.completions.create({
        model: target.model, stream: true, messages: [{ role: 'user', content: 'weather in Paris?' }], tools: [WEATHER_TOOL],
      })
      const r = await bounded('tool stream', consume(stream))
      t.same(r.finishReasons, ['tool_calls'])
      t.equal(r.tools.length, 1)
      t.equal(r.tools[0]!.name, 'get_weather')
      t.same(JSON.parse(r.tools[0]!.arguments), { city: 'Paris' })
      t.ok(r.tools[0]!.id.length > 0, 'the call has an id')
      t.equal(r.text, '')
    })
  }
})

t.test('multi-turn with a tool result and a system prompt, checked in each wire format', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.kind, async (t) => {
      const first = await client.chat.completions.create({
        model: target.model,
        messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'weather in Paris?' }],
        tools: [WEATHER_TOOL],
      })
      const call = first.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
      t.ok(call, 'a tool call came back')
      const messages: OpenAI.ChatCompletionMessageParam[] = [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '{"temp_c":21}' },
      ]
      const before = target.count()
      const second = await client.chat.completions.create({ model: target.model, messages, tools: [WEATHER_TOOL] })
      t.equal(target.count(), before + 1)
      const body = target.lastBody()

      switch (target.kind) {
        case 'openai':
        case 'azure':
          // OpenAI's own format: the conversation reaches the upstream as sent.
          t.equal(body.model, target.upstreamModel)
          t.same(body.messages, JSON.parse(JSON.stringify(messages)))
          t.same(body.tools, [WEATHER_TOOL])
          break
        case 'anthropic':
          t.equal(body.model, 'claude-upstream')
          t.equal(body.system, 'You are terse.', 'system prompt in the top-level system field')
          t.equal(typeof body.max_tokens, 'number', 'max_tokens is always sent')
          t.same(body.messages, [
            { role: 'user', content: 'weather in Paris?' },
            { role: 'assistant', content: [{ type: 'tool_use', id: call.id, name: 'get_weather', input: { city: 'Paris' } }] },
            { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '{"temp_c":21}' }] },
          ])
          t.same(body.tools, [
            {
              name: 'get_weather',
              description: 'Current weather for a city',
              input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            },
          ])
          t.equal(second.choices[0]!.message.content, 'echo: {"temp_c":21}')
          t.equal(second.choices[0]!.finish_reason, 'stop')
          break
        case 'gemini': {
          const recorded = gem.requests[gem.requests.length - 1]!
          t.equal(recorded.model, 'gemini-2.0-flash', 'model in the URL')
          t.equal(recorded.action, 'generateContent')
          t.equal(recorded.headers['x-goog-api-key'], 'test-gemini-key')
          t.same(body.systemInstruction, { parts: [{ text: 'You are terse.' }] }, 'system prompt in systemInstruction')
          t.same(body.contents, [
            { role: 'user', parts: [{ text: 'weather in Paris?' }] },
            { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] },
            { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp_c: 21 } } }] },
          ])
          t.same(body.tools, [
            {
              functionDeclarations: [
                {
                  name: 'get_weather',
                  description: 'Current weather for a city',
                  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
                },
              ],
            },
          ])
          t.equal(second.choices[0]!.message.content, 'echo: weather in Paris?')
          t.equal(second.choices[0]!.finish_reason, 'stop')
          break
        }
      }
    })
  }
})

t.test('system prompt placement on a plain turn', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.kind, async (t) => {
      await client.chat.completions.create({
        model: target.model,
        messages: [
          { role: 'system', content: 'Rule one.' },
          { role: 'developer', content: 'Rule two.' },
          { role: 'user', content: 'hi' },
        ],
      })
      const body = target.lastBody()
      if (target.kind === 'anthropic') {
        t.equal(body.system, 'Rule one.\n\nRule two.')
        t.same(body.messages, [{ role: 'user', content: 'hi' }])
      } else if (target.kind === 'gemini') {
        t.same(body.systemInstruction, { parts: [{ text: 'Rule one.' }, { text: 'Rule two.' }] })
        t.same(body.contents, [{ role: 'user', parts: [{ text: 'hi' }] }])
      } else {
        t.same(body.messages.map((m: { role: string }) => m.role), ['system', 'developer', 'user'])
      }
    })
  }
})

t.test('unknown fields, response_format, seed and n', async (t) => {
  const request = {
    messages: [{ role: 'user' as const, content: 'json please' }],
    response_format: { type: 'json_object' as const },
    seed: 7,
    n: 2,
    temperature: 0.25,
    x_vendor_extension: { model: 'must stay', nested: [1, 2.5, null, 'x'] },
  }
  for (const target of TARGETS) {
    await t.test(target.kind, async (t) => {
      const before = target.count()
      const result = await client.chat.completions.create({ model: target.model, ...request }).catch((e: unknown) => e)
      const raw = sent[sent.length - 1]!
      t.ok(raw.includes('"x_vendor_extension"'), 'the SDK sent the unknown field')
      if (target.kind === 'openai' || target.kind === 'azure') {
        t.notOk(result instanceof Error, 'accepted')
        // Byte for byte, only the top-level model rewritten.
        t.equal(target.lastRaw(), raw.replace(`"model":"${target.model}"`, `"model":"${target.upstreamModel}"`))
        t.equal(target.lastBody().x_vendor_extension.model, 'must stay')
        if (target.kind === 'azure') {
          const req = az.requests[az.requests.length - 1]!
          t.equal(req.url, '/openai/deployments/my-azure-deployment/chat/completions?api-version=2024-10-21')
          t.equal(req.headers['api-key'], AZURE_KEY)
          t.notOk(req.headers.authorization, 'no bearer token to Azure')
        } else {
          const req = oai.requests[oai.requests.length - 1]!
          t.equal(req.url, '/v1/chat/completions')
          t.equal(req.headers.authorization, `Bearer ${OPENAI_KEY}`)
        }
      } else if (target.kind === 'anthropic') {
        // Anthropic has no n: refused before any upstream call.
        t.ok(result instanceof OpenAI.BadRequestError, 'n > 1 is a 400')
        t.match((result as Error).message, /n > 1/)
        t.equal(target.count(), before, 'never sent upstream')
      } else {
        t.notOk(result instanceof Error, 'accepted')
        const body = target.lastBody()
        t.same(body.generationConfig, { temperature: 0.25, candidateCount: 2, seed: 7, responseMimeType: 'application/json' })
        t.notOk('x_vendor_extension' in body, 'unknown OpenAI fields are not forwarded to Gemini')
      }
    })
  }
})

t.test('a claude-* name routes to the anthropic provider by pattern', async (t) => {
  const before = ant.requests.length
  const { data, response } = await client.chat.completions
    .create({ model: 'claude-3-5-haiku-latest', messages: [{ role: 'user', content: 'via pattern' }] })
    .withResponse()
  t.equal(ant.requests.length, before + 1)
  t.equal(ant.requests[ant.requests.length - 1]!.body.model, 'claude-3-5-haiku-latest')
  t.equal(response.headers.get('x-switchyard-deployment'), 'pattern:claude:claude-*')
  t.equal(data.choices[0]!.message.content, 'echo: via pattern')
})

// ---------------------------------------------------------------- embeddings

const closeToFloat32 = (actual: number[], expected: number[]) =>
  actual.length === expected.length && actual.every((v, i) => v === Math.fround(expected[i]!))

t.test('embeddings through the SDK (base64 by default, decoded by the SDK)', async (t) => {
  await t.test('openai', async (t) => {
    const res = await client.embeddings.create({ model: 'e-openai', input: ['first', 'second'] })
    const req = oai.requests[oai.requests.length - 1]!
    t.equal(req.url, '/v1/embeddings')
    t.equal(req.body!.model, 'text-embedding-upstream')
    t.equal(req.body!.encoding_format, 'base64', 'the SDK asked for base64 and it was passed through')
    t.equal(res.data.length, 2)
    t.ok(closeToFloat32(res.data[0]!.embedding, [0.1, 0.2, 0.3]), `vector 0: ${res.data[0]!.embedding}`)
    t.ok(closeToFloat32(res.data[1]!.embedding, [0.2, 0.2, 0.3]), `vector 1: ${res.data[1]!.embedding}`)
    t.same(res.usage, { prompt_tokens: 4, total_tokens: 4 })
  })

  await t.test('gemini', async (t) => {
    const res = await client.embeddings.create({ model: 'e-gemini', input: ['first', 'second'] })
    const req = gem.requests[gem.requests.length - 1]!
    t.equal(req.action, 'batchEmbedContents')
    t.equal(req.model, 'gemini-embedding-001')
    t.same(req.body.requests, [
      { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'first' }] } },
      { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'second' }] } },
    ])
    t.equal(res.data.length, 2)
    t.same(res.data.map((d) => d.index), [0, 1])
    t.ok(closeToFloat32(res.data[0]!.embedding, mockEmbedding('first')), 'vector 0 = the mock vector as float32')
    t.ok(closeToFloat32(res.data[1]!.embedding, mockEmbedding('second')), 'vector 1 = the mock vector as float32')
    t.same(res.usage, { prompt_tokens: 0, total_tokens: 0 }, 'batchEmbedContents reports no usage')

    const floats = await client.embeddings.create({ model: 'e-gemini', input: 'third', encoding_format: 'float', dimensions: 4 })
    t.equal(gem.requests[gem.requests.length - 1]!.body.requests[0].outputDimensionality, 4)
    t.same(floats.data[0]!.embedding, mockEmbedding('third', 4), 'float format is exact')
  })

  await t.test('anthropic has no embeddings API', async (t) => {
    const before = ant.requests.length
    const err = await client.embeddings.create({ model: 'e-claude', input: 'x' }).catch((e: unknown) => e)
    t.ok(err instanceof OpenAI.APIError, 'an OpenAI error')
    t.equal((err as InstanceType<typeof OpenAI.APIError>).status, 400)
    t.match((err as Error).message, /Anthropic has no embeddings API/)
    t.equal(ant.requests.length, before, 'nothing sent upstream')
  })
})

// ---------------------------------------------------------------- errors

type ApiError = InstanceType<typeof OpenAI.APIError>

t.test('error mapping', async (t) => {
  t.teardown(() => ant.script(null))

  await t.test('anthropic 529 overloaded -> 503 with the upstream message', async (t) => {
    ant.script(() => ({ kind: 'error', status: 529, type: 'overloaded_error', message: 'Overloaded right now' }))
    const err = (await client.chat.completions.create({ model: 'm-claude', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as ApiError
    ant.script(null)
    t.ok(err instanceof OpenAI.InternalServerError)
    t.equal(err.status, 503)
    t.equal(err.type, 'server_error')
    t.equal(err.code, 'overloaded_error')
    t.equal((err.error as { message?: string }).message, 'Overloaded right now')
  })

  await t.test('anthropic 429 with retry-after -> 429 and the header', async (t) => {
    ant.script(() => ({ kind: 'error', status: 429, type: 'rate_limit_error', message: 'Slow down', headers: { 'retry-after': '17' } }))
    const err = (await client.chat.completions.create({ model: 'm-claude', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as ApiError
    ant.script(null)
    t.ok(err instanceof OpenAI.RateLimitError)
    t.equal(err.status, 429)
    t.equal(err.type, 'rate_limit_error')
    t.equal(err.headers?.get('retry-after'), '17')
    t.equal((err.error as { message?: string }).message, 'Slow down')
  })

  await t.test('anthropic in-band stream error event -> SSE error event', async (t) => {
    ant.script(() => ({
      kind: 'events',
      events: [
        { event: 'message_start', data: { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-upstream', content: [], usage: { input_tokens: 3, output_tokens: 1 } } } },
        { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
        { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'partial ' } } },
        { event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded mid-stream' } } },
      ],
    }))
    const stream = await client.chat.completions.create({ model: 'm-claude', stream: true, messages: [{ role: 'user', content: 'x' }] })
    let text = ''
    const err = await bounded('in-band error', (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    })().then(() => undefined, (e: unknown) => e))
    ant.script(null)
    t.equal(text, 'partial ', 'the text before the error was delivered')
    t.ok(err instanceof OpenAI.APIError, 'the SDK stream throws')
    t.match((err as Error).message, /Overloaded mid-stream/)
    t.equal((err as ApiError).code, 'overloaded_error')
  })

  await t.test('openai-compatible in-band stream error: content kept, one error event, last', async (t) => {
    const chunk = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-upstream', choices: [{ index: 0, delta: { role: 'assistant', content: 'par' }, finish_reason: null }] }
    oai.script({
      raw: `data: ${JSON.stringify(chunk)}\n\ndata: {"error":{"message":"upstream broke","type":"server_error","code":"boom"}}\n\n`,
      contentType: 'text/event-stream',
    })
    const res = await bounded('openai in-band error', fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm-openai', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    }).then((r) => r.text()))
    const events = sseData(res) as Array<{ error?: { message: string; code: string }; choices?: Array<{ delta: { content?: string } }> }>
    t.equal(events[0]!.choices?.[0]!.delta.content, 'par')
    const errorEvents = events.filter((e) => typeof e === 'object' && e.error)
    t.equal(errorEvents.length, 1, 'the error is sent once')
    t.equal(events[events.length - 1], errorEvents[0], 'and it is the last event')
    t.equal(errorEvents[0]!.error!.message, 'upstream broke')
    t.equal(errorEvents[0]!.error!.code, 'boom')
  })

  await t.test('gemini RESOURCE_EXHAUSTED -> 429 with the RetryInfo delay', async (t) => {
    gem.script(() => ({
      status: 429,
      error: {
        message: 'Resource has been exhausted (e.g. check quota).',
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '4s' }],
      },
    }))
    const err = (await client.chat.completions.create({ model: 'm-gemini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as ApiError
    t.ok(err instanceof OpenAI.RateLimitError)
    t.equal(err.status, 429)
    t.equal(err.type, 'rate_limit_error')
    t.equal(err.code, 'rate_limit_exceeded')
    t.equal(err.headers?.get('retry-after'), '4')
    t.match((err.error as { message?: string }).message, /Resource has been exhausted/)
  })

  await t.test('anthropic stream cut mid-way -> SSE error event, no hang', async (t) => {
    ant.script(() => ({ kind: 'cut' }))
    const stream = await client.chat.completions.create({ model: 'm-claude', stream: true, messages: [{ role: 'user', content: 'a fairly long sentence to cut in half' }] })
    let text = ''
    const err = await bounded('anthropic cut', (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    })().then(() => undefined, (e: unknown) => e))
    ant.script(null)
    t.ok(err instanceof OpenAI.APIError, `the SDK stream throws (got ${String(err)})`)
    t.ok('echo: a fairly long sentence to cut in half'.startsWith(text), `partial text is a prefix: ${JSON.stringify(text)}`)
    t.not(text, 'echo: a fairly long sentence to cut in half', 'the answer was not complete')
  })

  await t.test('gemini stream cut mid-way -> last raw event is an error', async (t) => {
    gem.script(() => ({ cut: true }))
    const res = await bounded('gemini cut', fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm-gemini', stream: true, messages: [{ role: 'user', content: 'a fairly long sentence to cut in half' }] }),
    }).then(async (r) => ({ status: r.status, text: await r.text() })))
    t.equal(res.status, 200, 'the stream had started')
    const events = sseData(res.text)
    const last = events[events.length - 1] as { error?: { type?: string; message?: string } }
    t.type(last, 'object')
    t.ok(last.error, 'the last event is an error event')
    t.notOk(events.includes('[DONE]'), 'no [DONE] after a failure')
    t.ok(events.length >= 2, 'some content came before the error')
  })

  await t.test('gemini stream cut mid-way through the SDK throws', async (t) => {
    gem.script(() => ({ cut: true }))
    const stream = await client.chat.completions.create({ model: 'm-gemini', stream: true, messages: [{ role: 'user', content: 'another sentence that gets cut' }] })
    const err = await bounded('gemini cut sdk', (async () => {
      for await (const _ of stream) void _
    })().then(() => undefined, (e: unknown) => e))
    t.ok(err instanceof OpenAI.APIError, `the SDK stream throws (got ${String(err)})`)
  })

  await t.test('the gateway still serves normally afterwards', async (t) => {
    for (const target of TARGETS) {
      const res = await client.chat.completions.create({ model: target.model, messages: [{ role: 'user', content: 'still ok' }] })
      t.equal(res.choices[0]!.message.content, 'echo: still ok', target.kind)
    }
  })
})
