// Secrets never reach the logs: key headers and any apiKey field are redacted.
import { test } from 'tap'
import { Writable } from 'node:stream'
import { buildApp } from '../app.js'
import { MASTER_KEY, tempSqliteUrl, testEnv } from './helpers/app.js'

test('keys are redacted from every log line', async (t) => {
  const lines: string[] = []
  const logStream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk))
      done()
    },
  })
  const app = await buildApp({
    env: testEnv(tempSqliteUrl(t), { LOG_LEVEL: 'debug', UPSTREAM_API_KEY: 'sk-upstream-very-secret' }),
    gateway: {
      providers: [{ name: 'up', type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: '${UPSTREAM_API_KEY}' }, { name: 'mock', type: 'mock' }],
      models: [{ name: 'm', deployments: [{ provider: 'mock' }] }, { name: 'dead', deployments: [{ provider: 'up' }] }],
      routing: { retries: { attempts: 0 } },
    },
    logStream,
  })
  t.teardown(() => app.close())
  // Anything that logs a request's headers or a provider's settings is covered.
  app.log.info({ req: { headers: { authorization: `Bearer ${MASTER_KEY}`, 'x-api-key': MASTER_KEY } }, apiKey: 'sk-upstream-very-secret', provider: { apiKey: 'sk-upstream-very-secret' } }, 'probe')
  await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${MASTER_KEY}` }, payload: { model: 'dead', messages: [{ role: 'user', content: 'x' }] } })
  await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: 'Bearer sk-wrong-secret-key' }, payload: { model: 'm', messages: [{ role: 'user', content: 'x' }] } })
  const all = lines.join('')
  t.ok(lines.length > 2, 'something was logged')
  t.match(all, /"msg":"probe"/)
  t.notMatch(all, MASTER_KEY, 'no gateway key in the logs')
  t.notMatch(all, 'sk-upstream-very-secret', 'no provider key in the logs')
  t.notMatch(all, 'sk-wrong-secret-key', 'no rejected key in the logs')
  t.match(all, /\[redacted\]/, 'redaction happened')
})
