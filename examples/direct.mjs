// Direct mode: the gateway in your process, no HTTP.
//   npm run build && node examples/direct.mjs
import { createGateway } from 'switchyard'
import { config } from './config.mjs'

const gateway = await createGateway({ config, logLevel: 'warn' })
try {
  const completion = await gateway.chat({ model: 'mock-gpt', messages: [{ role: 'user', content: 'Say hello' }] })
  console.log('chat:', completion.choices[0].message.content)

  process.stdout.write('stream:')
  for await (const chunk of await gateway.chat({ model: 'mock-gpt', stream: true, messages: [{ role: 'user', content: 'Count to three' }] })) {
    process.stdout.write(chunk.choices[0]?.delta?.content ?? '')
  }
  console.log()

  const embeddings = await gateway.embeddings({ model: 'mock-embed', input: ['a', 'b'] })
  console.log('embeddings:', embeddings.data.length, 'vectors')

  await gateway.app.usage.flush()
  console.log('records:', await gateway.app.db.usageRecord.count())
} finally {
  await gateway.close()
}
