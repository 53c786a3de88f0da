// Usage and spend: the records (one per request, made by the pipeline's
// usage observer: lib/pipeline/observers/usage-records.ts), written in batches. Nothing recorded is
// lost on shutdown: the buffer is flushed when the app closes. A record the
// database refuses is set apart and never holds up the others
// (lib/storage/batch-writer.ts).
import fp from 'fastify-plugin'
import { BatchWriter } from '../lib/storage/batch-writer.js'
import type { Row } from '../lib/storage/insert-many.js'
import type { UsageRow } from '../lib/pipeline/observers/usage-records.js'

export type { UsageRow }

// Writes run in the low-priority writer thread; fewer, larger batches cost
// less in all (each statement has a fixed cost).
export const USAGE_FLUSH_INTERVAL_MS = 1_000

declare module 'fastify' {
  interface FastifyInstance {
    usage: {
      writer: BatchWriter<UsageRow>
      /** Queues one record. */
      push(row: UsageRow): void
      flush(): Promise<void>
    }
  }
}

export default fp(
  async (app) => {
    const writer = new BatchWriter<UsageRow>({
      write: async (rows) => {
        await app.writer.insert('UsageRecord', rows as unknown as Row[])
      },
      onError: (err, count) => app.log.error({ err, count }, 'usage write failed; kept apart and retried at the next flush'),
      onDrop: (count, reason, err) =>
        app.log.error({ err, count, reason }, reason === 'failed' ? `usage records dropped: ${count} failed to write every time` : `usage records dropped: ${count} over the buffer limit`),
    })
    const timer = setInterval(() => void writer.flush(), USAGE_FLUSH_INTERVAL_MS)
    timer.unref()
    app.addHook('onClose', async () => {
      clearInterval(timer)
      await writer.flush()
    })
    app.decorate('usage', { writer, push: (row: UsageRow) => writer.push(row), flush: () => writer.flush() })
  },
  { name: 'usage', dependencies: ['prisma', 'writer'] },
)
