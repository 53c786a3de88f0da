// The Vercel AI SDK (ai v5 + @ai-sdk/openai-compatible), unmodified, against
// the gateway in front of OpenAI-compatible, Anthropic and Gemini upstreams.
// Tool schemas use jsonSchema() from 'ai' so the test needs no zod.
import t from 'tap'
import { generateText, jsonSchema, streamText, tool } from 'ai'
import { createOpenAICompatible } from '@ai-sdk/openai-compatible'
import { mockUsage, startMockOpenAI } from '../mocks/openai.js'
import { listenTestApp, MASTER_KEY } from '../helpers/app.js'
import { defaultMessage, startMockAnthropic } from '../mocks/anthropic.js'
import { defaultAnswer, startMockGemini } from '../mocks/gemini.js'

const STREAM_CHUNKS = 4

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

const oai = await startMockOpenAI({ streamChunks: STREAM_CHUNKS, apiKey: 'sk-up' })
const ant = await startMockAnthropic({ apiKey: 'test-anthropic-key' })
const gem = await startMockGemini({ apiKey: 'test-gemini-key' })
t.teardown(() => Promise.all([oai.close(), ant.close(), gem.close()]))

const { url } = await listenTestApp(t, {
  gateway: {
    providers: [
      { name: 'oai', type: 'openai', baseUrl: `${oai.url}/v1`, apiKey: 'sk-up' },
      { name: 'claude', type: 'anthropic', baseUrl: ant.url, apiKey: 'test-anthropic-key' },
      { name: 'gem', type: 'gemini', baseUrl: gem.url, apiKey: 'test-gemini-key' },
    ],
    models: [
      { name: 'm-openai', deployments: [{ provider: 'oai', model: 'gpt-upstream' }] },
      { name: 'm-claude', deployments: [{ provider: 'claude', model: 'claude-upstream' }] },
      { name: 'm-gemini', deployments: [{ provider: 'gem', model: 'gemini-2.0-flash' }] },
    ],
    routing: { strategy: 'model' },
  },
})

const switchyard = createOpenAICompatible({ name: 'switchyard', baseURL: `${url}/v1`, apiKey: MASTER_KEY, includeUsage: true })

interface Usage {
  inputTokens: number
  outputTokens: number
  totalTokens: number
}

const TARGETS: Array<{ name: string; model: string; count: () => number; streamText: (s: string) => string; usage: () => Usage; streamUsage: () => Usage }> = [
  {
    name: 'openai',
    model: 'm-openai',
    count: () => oai.requests.length,
    streamText: () => ['echo:', ...Array.from({ length: STREAM_CHUNKS - 1 }, (_, i) => ` t${i + 1}`)].join(''),
    usage: () => openaiUsage(),
    streamUsage: () => openaiUsage(),
  },
  ...(['anthropic', 'gemini'] as const).map((name) => {
    const usage = (): Usage => {
      if (name === 'anthropic') {
        const n = ant.requests.length - 1
        const u = defaultMessage(ant.requests[n]!.body, n).usage
        return { inputTokens: u.input_tokens, outputTokens: u.output_tokens, totalTokens: u.input_tokens + u.output_tokens }
      }
      const u = defaultAnswer(gem.requests[gem.requests.length - 1]!.body).usage
      return { inputTokens: u.promptTokenCount!, outputTokens: u.candidatesTokenCount!, totalTokens: u.totalTokenCount! }
    }
    return {
      name,
      model: name === 'anthropic' ? 'm-claude' : 'm-gemini',
      count: () => (name === 'anthropic' ? ant.requests.length : gem.requests.length),
      streamText: (s: string) => `echo: ${s}`,
      usage,
      streamUsage: usage,
    }
  }),
]

function openaiUsage(): Usage {
  const u = mockUsage(oai.requests[oai.requests.length - 1]!.body)
  return { inputTokens: u.prompt_tokens, outputTokens: u.completion_tokens, totalTokens: u.total_tokens }
}

const weather = tool({
  description: 'Current weather for a city',
  inputSchema: jsonSchema<{ city: string }>({
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  }),
})

t.test('generateText', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.name, async (t) => {
      const before = target.count()
      const res = await bounded('generateText', generateText({ model: switchyard(target.model), prompt: 'hello from ai sdk', maxRetries: 0 }))
      t.equal(target.count(), before + 1)
      t.equal(res.text, 'echo: hello from ai sdk')
      t.equal(res.finishReason, 'stop')
      t.match(res.usage, target.usage())
    })
  }
})

t.test('streamText', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.name, async (t) => {
      const errors: unknown[] = []
      const res = streamText({ model: switchyard(target.model), prompt: 'stream from ai sdk', maxRetries: 0, onError: ({ error }) => void errors.push(error) })
      let text = ''
      await bounded('textStream', (async () => {
        for await (const delta of res.textStream) text += delta
      })())
      t.same(errors, [], 'no stream error')
      t.equal(text, target.streamText('stream from ai sdk'))
      t.equal(await res.text, text)
      t.equal(await res.finishReason, 'stop')
      t.match(await res.usage, target.streamUsage())
    })
  }
})

t.test('tool call with generateText (no execute)', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.name, async (t) => {
      const res = await bounded('generateText tools', generateText({
        model: switchyard(target.model), prompt: 'weather in Paris?', tools: { get_weather: weather }, maxRetries: 0,
      }))
      t.equal(res.finishReason, 'tool-calls')
      t.equal(res.toolCalls.length, 1)
      const call = res.toolCalls[0]!
      t.equal(call.toolName, 'get_weather')
      t.same(call.input, { city: 'Paris' })
      t.ok(call.toolCallId.length > 0)
      t.equal(res.toolResults.length, 0, 'nothing executed')
    })
  }
})

t.test('tool call with streamText (no execute)', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.name, async (t) => {
      const errors: unknown[] = []
      const res = streamText({
        model: switchyard(target.model), prompt: 'weather in Paris?', tools: { get_weather: weather }, maxRetries: 0,
        onError: ({ error }) => void errors.push(error),
      })
      const calls = await bounded('streamText tools', Promise.resolve(res.toolCalls))
      t.same(errors, [])
      t.equal(calls.length, 1)
      t.equal(calls[0]!.toolName, 'get_weather')
      t.same(calls[0]!.input, { city: 'Paris' })
      t.equal(await res.finishReason, 'tool-calls')
    })
  }
})

t.test('a tool result sent back reaches each upstream in its own format', async (t) => {
  for (const target of TARGETS) {
    await t.test(target.name, async (t) => {
      const first = await bounded('first turn', generateText({
        model: switchyard(target.model), prompt: 'weather in Paris?', tools: { get_weather: weather }, maxRetries: 0,
      }))
      const call = first.toolCalls[0]!
      t.ok(call, 'a tool call')
      const second = await bounded('second turn', generateText({
        model: switchyard(target.model),
        tools: { get_weather: weather },
        maxRetries: 0,
        messages: [
          { role: 'user', content: 'weather in Paris?' },
          ...first.response.messages,
          {
            role: 'tool',
            content: [{ type: 'tool-result', toolCallId: call.toolCallId, toolName: 'get_weather', output: { type: 'json', value: { temp_c: 21 } } }],
          },
        ],
      }))
      if (target.name === 'anthropic') {
        const body = ant.requests[ant.requests.length - 1]!.body
        const last = body.messages![body.messages!.length - 1]!
        t.equal(last.role, 'user')
        t.same(last.content, [{ type: 'tool_result', tool_use_id: call.toolCallId, content: '{"temp_c":21}' }])
        t.equal(second.text, 'echo: {"temp_c":21}')
      } else if (target.name === 'gemini') {
        const body = gem.requests[gem.requests.length - 1]!.body
        t.same(body.contents[body.contents.length - 1], { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp_c: 21 } } }] })
        t.equal(second.text, 'echo: weather in Paris?')
      } else {
        const body = oai.requests[oai.requests.length - 1]!.body as { messages: Array<Record<string, unknown>> }
        t.same(body.messages[body.messages.length - 1], { role: 'tool', tool_call_id: call.toolCallId, content: '{"temp_c":21}' })
      }
    })
  }
})
