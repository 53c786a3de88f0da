// The background writer: batched inserts of usage and latency records run in
// a worker thread with its own database client (see lib/storage/writer-thread.ts).
import fp from 'fastify-plugin'
import { ThreadWriter } from '../lib/storage/thread-writer.js'

declare module 'fastify' {
  interface FastifyInstance {
    writer: ThreadWriter
  }
}

export default fp(
  async (app) => {
    const writer = new ThreadWriter(app.config.env.DATABASE_URL, app.dbSchema)
    await writer.start()
    app.decorate('writer', writer)
    // Registered before the plugins that flush into it, so it closes after them.
    app.addHook('onClose', async () => {
      await writer.close()
    })
  },
  { name: 'writer', dependencies: ['prisma'] },
)
