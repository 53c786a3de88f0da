// Usage and spend: one record per request (tokens, cost, where they came
// from, outcome, key, deployment), written in batches. Nothing recorded is
// lost on shutdown: the buffer is flushed when the app closes. A record the
// database refuses is set apart and never holds up the others
// (lib/storage/batch-writer.ts).
import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import { BatchWriter } from '../lib/storage/batch-writer.js'
import type { Row } from '../lib/storage/insert-many.js'
import type { CompletionRecord } from '../lib/proxy/engine.js'
import { tokenCount, type UsageSource } from '../lib/proxy/usage.js'

// Writes run in the low-priority writer thread; fewer, larger batches cost
// less in all (each statement has a fixed cost).
export const USAGE_FLUSH_INTERVAL_MS = 1_000

declare module 'fastify' {
  interface FastifyInstance {
    usage: {
      writer: BatchWriter<UsageRow>
      flush(): Promise<void>
      /** Subscribers see every record as it is made (budgets, limits). */
      listeners: Array<(record: CompletionRecord) => void>
    }
  }
}

export interface UsageRow {
  id: string
  requestId: string
  keyId: string | null
  tenant: string | null
  model: string
  deploymentId: string | null
  provider: string | null
  stream: boolean
  status: number
  promptTokens: number
  completionTokens: number
  cacheReadTokens: number
  cacheWriteTokens: number
  reasoningTokens: number
  costUsd: number
  attempts: number
  error: string | null
  createdAt: Date
  usageSource: UsageSource
}

export function usageRow(r: CompletionRecord): UsageRow {
  const u = r.usage
  const meta = r.meta ?? {}
  return {
    id: randomUUID(),
    requestId: r.requestId,
    keyId: (meta.keyId as string | null | undefined) ?? null,
    tenant: (meta.tenant as string | null | undefined) ?? null,
    model: r.requestedModel,
    deploymentId: r.deployment?.id ?? null,
    provider: r.deployment?.provider ?? null,
    stream: r.stream,
    status: r.status,
    // Integer columns get integers whatever the upstream sent (the engine sanitizes too).
    promptTokens: tokenCount(u?.prompt_tokens),
    completionTokens: tokenCount(u?.completion_tokens),
    cacheReadTokens: tokenCount(u?.prompt_tokens_details?.cached_tokens),
    cacheWriteTokens: tokenCount(u?.prompt_tokens_details?.cache_write_tokens),
    reasoningTokens: tokenCount(u?.completion_tokens_details?.reasoning_tokens),
    costUsd: typeof r.costUsd === 'number' && Number.isFinite(r.costUsd) && r.costUsd > 0 ? r.costUsd : 0,
    attempts: tokenCount(r.attempts),
    error: r.error ?? null,
    createdAt: new Date(),
    usageSource: r.usageSource ?? 'upstream',
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
    const listeners: Array<(record: CompletionRecord) => void> = []
    app.proxyObservers.push({
      onComplete(record) {
        writer.push(usageRow(record))
        for (const l of listeners) l(record)
      },
    })
    const timer = setInterval(() => void writer.flush(), USAGE_FLUSH_INTERVAL_MS)
    timer.unref()
    app.addHook('onClose', async () => {
      clearInterval(timer)
      await writer.flush()
    })
    app.decorate('usage', { writer, flush: () => writer.flush(), listeners })
  },
  { name: 'usage', dependencies: ['prisma', 'proxy', 'writer'] },
)
