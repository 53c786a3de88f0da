// One interface, three modes: pick with ROUTER_MODE=direct|embedded|proxy.
//   npm run build && ROUTER_MODE=embedded node examples/router.mjs
//   ROUTER_MODE=proxy BASE_URL=http://127.0.0.1:8080 API_KEY=sk-... node examples/router.mjs
import { createRouter } from 'switchyard'
import { config } from './config.mjs'

const mode = process.env.ROUTER_MODE ?? 'embedded'
const router =
  mode === 'proxy'
    ? await createRouter({ mode, baseUrl: process.env.BASE_URL ?? 'http://127.0.0.1:8080', apiKey: process.env.API_KEY })
    : await createRouter({ mode, config, logLevel: 'warn' })
try {
  const completion = await router.chat({ model: process.env.MODEL ?? 'mock-gpt', messages: [{ role: 'user', content: 'hello' }] })
  console.log(`${mode}:`, completion.choices[0].message.content)
} finally {
  await router.close()
}
