// `model` is validated on every route that takes one, and the names the
// gateway echoes into response headers can never make the header write throw.
import { before, test } from 'tap'
import { startMockOpenAI } from '../mocks/openai.js'
import { auth, buildTestApp } from '../helpers/app.js'
import { headerValue } from '../../routes/v1/proxy-route.js'
import { warmWriterThread } from '../helpers/money.js'

// The shared writer thread's first start can outlast Fastify's plugin timeout on a loaded machine.
before(warmWriterThread)

const json = { ...auth, 'content-type': 'application/json' }
const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] })

const routes: Array<[string, (model: string) => Record<string, unknown>]> = [
  ['/v1/chat/completions', chat],
  ['/v1/embeddings', (model) => ({ model, input: 'hi' })],
  ['/v1/routing/estimate-cost', chat],
]

test('a bad model name is a 400 with param model on chat, embeddings and estimate-cost', async (t) => {
  // Every name would route (pattern "*"): only validation can refuse them.
  const app = await buildTestApp(t, {
    gateway: { providers: [{ name: 'mock', type: 'mock' }], models: [{ name: 'm', deployments: [{ provider: 'mock' }] }], routing: { patterns: [{ match: '*', provider: 'mock' }] } },
  })
  const bad = {
    '100 KB': 'x'.repeat(100 * 1024),
    '257 characters': 'x'.repeat(257),
    'a space': 'gpt 4o',
    'a control character': 'gpt-4o\u0000',
    'a newline': 'gpt-4o\nx-injected: 1',
    'non-ASCII': 'модель',
    empty: '',
  }
  for (const [url, body] of routes) {
    for (const [what, model] of Object.entries(bad)) {
      const res = await app.inject({ method: 'POST', url, headers: json, payload: body(model) })
      t.equal(res.statusCode, 400, `${url}: ${what}`)
      t.equal(res.json().error.param, 'model', `${url}: ${what} names the param`)
      t.ok(res.body.length < 2000, `${url}: ${what}: the name is not echoed back whole`)
    }
    for (const model of ['gpt-4o', 'claude-3-5-sonnet@20240620', 'models/gemini-1.5-pro', 'accounts/x/models/y', 'ft:gpt-4o:org:name:id', 'x'.repeat(256)]) {
      const res = await app.inject({ method: 'POST', url, headers: json, payload: body(model) })
      t.equal(res.statusCode, 200, `${url}: ${model.slice(0, 40)} is accepted`)
    }
  }
  const latency = await app.inject({ method: 'GET', url: `/v1/routing/latency?model=${'x'.repeat(300)}`, headers: auth })
  t.equal(latency.statusCode, 400, 'the latency filter is validated too')
})

test('names from the configuration that are not header-safe are encoded, and every attempt is settled', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  // Configured names are not restricted like request names: a non-Latin-1
  // upstream model, a non-Latin-1 model name reached through an ASCII alias,
  // and a fallback to another such model.
  const app = await buildTestApp(t, {
    gateway: {
      providers: [{ name: 'up', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'sk-upstream' }],
      models: [
        { name: '模型', aliases: ['cn'], deployments: [{ provider: 'up', model: 'модель-1' }] },
        { name: 'first', fallbacks: ['模型'], deployments: [{ provider: 'up', model: 'first-up' }] },
      ],
      routing: { retries: { attempts: 0 } },
    },
  })
  for (const stream of [false, true]) {
    const res = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: { ...chat('cn'), stream } })
    t.equal(res.statusCode, 200, `stream ${stream}`)
    t.equal(res.headers['x-switchyard-model'], encodeURIComponent('модель-1'))
    t.equal(res.headers['x-switchyard-deployment'], `${encodeURIComponent('模型')}:up:${encodeURIComponent('модель-1')}`)
  }
  up.script({ status: 500, body: { error: { message: 'down', type: 'server_error' } } })
  const fallback = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: chat('first') })
  t.equal(fallback.statusCode, 200)
  t.equal(fallback.headers['x-switchyard-fallback-model'], encodeURIComponent('模型'))
  t.equal(app.latency.inflight.total(), 0, 'no attempt is left in flight')
})

test('headerValue: printable ASCII passes, the rest is encoded and bounded', async (t) => {
  t.equal(headerValue('gpt-4o:up:gpt-4o'), 'gpt-4o:up:gpt-4o')
  t.equal(headerValue('a b'), 'a b')
  t.equal(headerValue('é'), '%C3%A9')
  t.equal(headerValue('a\r\nx: y'), 'a%0D%0Ax: y')
  t.equal(headerValue('\ud800'), '%EF%BF%BD', 'a lone surrogate does not throw')
  const long = headerValue('x'.repeat(10_000))
  t.equal(long.length, 256)
  t.ok(long.endsWith('...'))
})
