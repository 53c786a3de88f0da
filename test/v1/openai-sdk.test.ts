// The official openai package, unmodified, against the running gateway.
import { before, test } from 'tap'
import OpenAI from 'openai'
import { mockUsage, startMockOpenAI } from '../mocks/openai.js'
import { listenTestApp, MASTER_KEY, openaiConfig } from '../helpers/app.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

test('openai SDK: chat, streaming, embeddings, models, errors', async (t) => {
  const up = await startMockOpenAI({ streamChunks: 4 })
  t.teardown(() => up.close())
  const { url } = await listenTestApp(t, { gateway: openaiConfig(up.url) })
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 })

  const completion = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello sdk' }] })
  t.equal(completion.choices[0]!.message.content, 'echo: hello sdk')
  t.equal(completion.usage!.completion_tokens, 5)

  const stream = await client.chat.completions.create({
    model: 'gpt-test', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }],
  })
  let text = ''
  let usage: OpenAI.CompletionUsage | undefined | null
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? ''
    if (chunk.usage) usage = chunk.usage
  }
  t.equal(text, 'echo: t1 t2 t3')
  t.equal(usage?.total_tokens, mockUsage({ messages: [{ role: 'user', content: 'hi' }] }).total_tokens)

  const tools = await client.chat.completions.create({
    model: 'gpt-test',
    messages: [{ role: 'user', content: 'weather?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
  })
  t.equal(tools.choices[0]!.message.tool_calls![0]!.type, 'function')
  t.same(JSON.parse((tools.choices[0]!.message.tool_calls![0] as { function: { arguments: string } }).function.arguments), { city: 'Paris' })

  const emb = await client.embeddings.create({ model: 'embed-test', input: 'vector me' })
  t.equal(emb.data.length, 1)
  t.equal(emb.data[0]!.embedding.length, 3)

  const models = await client.models.list()
  t.same(models.data.map((m) => m.id).sort(), ['embed-test', 'gpt-test', 'gpt-test-alias'])

  const err = await client.chat.completions.create({ model: 'missing-model', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)
  t.ok(err instanceof OpenAI.NotFoundError)
  t.equal((err as InstanceType<typeof OpenAI.NotFoundError>).code, 'model_not_found')

  const unauthorized = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-bad', maxRetries: 0 })
  const authErr = await unauthorized.models.list().catch((e: unknown) => e)
  t.ok(authErr instanceof OpenAI.AuthenticationError)
})
