// The official openai SDK's legacy completions.create (plain and streamed)
// against the running gateway, on an OpenAI-compatible upstream (passed
// through to its /v1/completions), an Anthropic one and a Gemini one
// (translated to chat); every request recorded with endpoint and cost.
import t from 'tap'
import OpenAI from 'openai'
import { startMockOpenAI, type MockOpenAI } from '../mocks/openai.js'
import { listenTestApp, MASTER_KEY } from '../helpers/app.js'
import { startMockAnthropic, type MockAnthropic } from '../mocks/anthropic.js'
import { startMockGemini, type MockGemini } from '../mocks/gemini.js'
import { records, until } from '../helpers/money.js'

const oai: MockOpenAI = await startMockOpenAI({ apiKey: 'sk-openai-upstream' })
const ant: MockAnthropic = await startMockAnthropic({ apiKey: 'test-anthropic-key' })
const gem: MockGemini = await startMockGemini({ apiKey: 'test-gemini-key' })
t.teardown(() => Promise.all([oai.close(), ant.close(), gem.close()]))

const pricing = { input: 1, output: 2 }
const { app, url } = await listenTestApp(t, {
  gateway: {
    providers: [
      { name: 'oai', type: 'openai', baseUrl: `${oai.url}/v1`, apiKey: 'sk-openai-upstream' },
      { name: 'claude', type: 'anthropic', baseUrl: ant.url, apiKey: 'test-anthropic-key' },
      { name: 'gem', type: 'gemini', baseUrl: gem.url, apiKey: 'test-gemini-key' },
    ],
    models: [
      { name: 'c-openai', deployments: [{ provider: 'oai', model: 'davinci-upstream', pricing }] },
      { name: 'c-claude', deployments: [{ provider: 'claude', model: 'claude-upstream', pricing }] },
      { name: 'c-gemini', deployments: [{ provider: 'gem', model: 'gemini-2.0-flash', pricing }] },
    ],
    routing: { strategy: 'model', retries: { attempts: 0 }, cooldown: { enabled: false } },
  },
})

const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${url}/v1`, maxRetries: 0 })

for (const model of ['c-openai', 'c-claude', 'c-gemini'] as const) {
  t.test(`${model}: completions.create`, async (t) => {
    const res = await client.completions.create({ model, prompt: 'Say this is a test', max_tokens: 20 })
    t.equal(res.object, 'text_completion')
    t.equal(res.choices.length, 1)
    t.match(res.choices[0]!.text, /echo: Say this is a test/)
    t.equal(res.choices[0]!.finish_reason, 'stop')
    t.ok((res.usage?.prompt_tokens ?? 0) > 0 && (res.usage?.completion_tokens ?? 0) > 0, 'usage')
    if (model === 'c-openai') {
      const sent = oai.requests[oai.requests.length - 1]!
      t.equal(sent.url, '/v1/completions', 'passed through to the upstream completions endpoint')
      t.equal(sent.body?.model, 'davinci-upstream', 'model rewritten')
      t.equal(sent.body?.prompt, 'Say this is a test', 'the body as sent')
    } else {
      t.equal(res.model, model, 'the model the client asked for')
    }
  })

  t.test(`${model}: completions.create streamed`, async (t) => {
    const stream = await client.completions.create({ model, prompt: 'stream this', max_tokens: 20, stream: true })
    let text = ''
    let finish: string | null = null
    let usageChunks = 0
    for await (const chunk of stream) {
      t.equal(chunk.object, 'text_completion')
      if (chunk.usage) usageChunks++
      for (const c of chunk.choices) {
        text += c.text
        finish = c.finish_reason ?? finish
      }
    }
    t.match(text, /echo: stream this/)
    t.equal(finish, 'stop')
    t.equal(usageChunks, 0, 'no usage chunk the client did not ask for')
    if (model === 'c-openai') {
      const sent = oai.requests[oai.requests.length - 1]!
      t.same(sent.body?.stream_options, { include_usage: true }, 'the gateway asked the upstream for its usage')
    }
  })

  t.test(`${model}: streamed with include_usage`, async (t) => {
    const stream = await client.completions.create({ model, prompt: 'usage please', max_tokens: 20, stream: true, stream_options: { include_usage: true } })
    let usage: OpenAI.CompletionUsage | undefined
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage
    t.ok(usage && usage.prompt_tokens > 0 && usage.completion_tokens > 0, 'the usage chunk')
  })
}

t.test('a prompt list is passed through to OpenAI-compatible upstreams and refused on translated ones', async (t) => {
  const native = await client.completions.create({ model: 'c-openai', prompt: ['a', 'b'], max_tokens: 5 })
  t.equal(native.object, 'text_completion')
  await t.rejects(client.completions.create({ model: 'c-claude', prompt: ['a', 'b'], max_tokens: 5 }), { status: 400 }, 'several prompts: 400 on a chat backend')
})

t.test('failures: an upstream error in OpenAI shape, a stream cut after the first byte ends with an error event', async (t) => {
  ant.script(() => ({ kind: 'error', status: 400, type: 'invalid_request_error', message: 'prompt is too strange' }))
  await t.rejects(client.completions.create({ model: 'c-claude', prompt: 'x', max_tokens: 5 }), { status: 400, message: /prompt is too strange/ })
  ant.script(() => ({ kind: 'cut' }))
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'c-claude', prompt: 'one two three four five six', max_tokens: 50, stream: true }),
  })
  t.equal(res.status, 200)
  const events = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6))
  t.ok(events.length >= 2, 'chunks before the cut')
  const last = JSON.parse(events[events.length - 1]!)
  t.equal(last.error?.type, 'upstream_error', "OpenAI's in-stream error event last")
  t.notOk(events.includes('[DONE]'))
  ant.script(null)
})

t.test('every request is recorded with endpoint completions and a cost', async (t) => {
  const completions = async () => (await records(app)).filter((r) => r.endpoint === 'completions')
  // 3 backends x 3 requests, + the passed-through prompt list, + the refused one, + the two failures.
  // A batch the database refused under load is written again at the next flush: wait for it.
  await until(async () => (await completions()).length >= 3 * 3 + 4)
  const rows = await completions()
  t.equal(rows.length, 3 * 3 + 4)
  const ok = rows.filter((r) => r.status === 200)
  t.equal(ok.length, 3 * 3 + 1)
  for (const row of ok) {
    t.ok(row.promptTokens > 0 && row.completionTokens > 0, `${row.provider} tokens`)
    t.ok(row.costUsd > 0, `${row.provider} cost`)
    t.equal(row.usageSource, 'upstream', `${row.provider} ${row.stream ? 'stream' : 'json'}: upstream usage`)
  }
  t.same(rows.filter((r) => r.status === 400).map((r) => r.costUsd), [0, 0], 'the refusals cost nothing')
  const cut = rows.find((r) => r.stream && r.status !== 200)
  t.ok(cut && cut.promptTokens > 0, 'the cut stream is recorded with its prompt')
})
