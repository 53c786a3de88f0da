import { test } from 'tap'
import { startMockOpenAI } from '../../bench/mock-upstream.js'
import { buildTestApp, openaiConfig, auth } from '../helpers/app.js'

const json = { ...auth, 'content-type': 'application/json' }
test('scratch', async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const cfg = openaiConfig(up.url) as any
  cfg.providers.push({ name: 'anth', type: 'anthropic', baseUrl: up.url, apiKey: 'x' }, { name: 'gem', type: 'gemini', baseUrl: up.url, apiKey: 'x' })
  cfg.models.push({ name: 'claude', deployments: [{ provider: 'anth', model: 'claude-x' }] }, { name: 'gem', deployments: [{ provider: 'gem', model: 'gemini-x' }] })
  cfg.routing = { strategy: 'model', retries: { attempts: 0 } }
  const app = await buildTestApp(t, { gateway: cfg })
  const depth = 100_000
  const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`
  const deepObj = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
  const cases: Record<string, (m: string) => string> = {
    toolsParams: (m) => `{"model":"${m}","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":${deepObj}}}}]}`,
    contentPart: (m) => `{"model":"${m}","messages":[{"role":"user","content":[{"type":"text","text":"hi","x":${deep}}]}]}`,
    msgExtra: (m) => `{"model":"${m}","messages":[{"role":"user","content":"hi","x":${deep}}]}`,
    responseFormat: (m) => `{"model":"${m}","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${deepObj}}}}`,
    metadata: (m) => `{"model":"${m}","messages":[{"role":"user","content":"hi"}],"metadata":${deepObj}}`,
    toolCallArgs: (m) => `{"model":"${m}","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}],"x":${deep}}]}`,
    stop: (m) => `{"model":"${m}","messages":[{"role":"user","content":"hi"}],"tool_choice":${deepObj}}`,
  }
  for (const [name, make] of Object.entries(cases)) {
    for (const m of ['gpt-test', 'claude', 'gem']) {
      const started = Date.now()
      const r = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: json, payload: make(m) })
      console.log(name, m, r.statusCode, r.body.slice(0, 160), Date.now() - started)
    }
  }
  const e = await app.inject({ method: 'POST', url: '/v1/embeddings', headers: json, payload: `{"model":"embed-test","input":"x","x":${deep}}` })
  console.log('emb', e.statusCode, e.body.slice(0, 100))
  const rt = await app.inject({ method: 'POST', url: '/v1/routing/estimate-cost', headers: json, payload: `{"model":"gpt-test","messages":[{"role":"user","content":[{"type":"text","text":"hi","x":${deep}}]}],"tools":[{"type":"function","function":{"name":"f","parameters":${deepObj}}}]}` })
  console.log('estimate', rt.statusCode, rt.body.slice(0, 160))
})
