// One usage record per request (tokens, cost and where they came from, key,
// tenant, deployment, outcome), handed to the batch writer.
import { randomUUID } from 'node:crypto'
import { tokenCount, type UsageSource } from '../../proxy/usage.js'
import type { EntryPoint, Outcome, PipelineObserver, RequestContext } from '../types.js'

export interface UsageRow {
  id: string
  requestId: string
  keyId: string | null
  tenant: string | null
  endpoint: EntryPoint
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

export function usageRow(ctx: RequestContext, o: Outcome): UsageRow {
  const u = o.usage
  return {
    id: randomUUID(),
    requestId: ctx.id,
    keyId: ctx.identity.id,
    tenant: ctx.identity.tenant ?? null,
    endpoint: ctx.entryPoint,
    // The model the plan served (a routing rule may have moved it).
    model: (ctx.plan?.model ?? ctx.model).name,
    deploymentId: o.deployment?.id ?? null,
    provider: o.deployment?.provider ?? null,
    stream: o.stream,
    status: o.status,
    // Integer columns get integers whatever the upstream sent (the engine sanitizes too).
    promptTokens: tokenCount(u?.prompt_tokens),
    completionTokens: tokenCount(u?.completion_tokens),
    cacheReadTokens: tokenCount(u?.prompt_tokens_details?.cached_tokens),
    cacheWriteTokens: tokenCount(u?.prompt_tokens_details?.cache_write_tokens),
    reasoningTokens: tokenCount(u?.completion_tokens_details?.reasoning_tokens),
    costUsd: typeof o.costUsd === 'number' && Number.isFinite(o.costUsd) && o.costUsd > 0 ? o.costUsd : 0,
    attempts: tokenCount(o.attempts),
    error: o.error ?? null,
    createdAt: new Date(),
    usageSource: o.usageSource,
  }
}

export function createUsageObserver(push: (row: UsageRow) => void): PipelineObserver {
  return {
    name: 'usage-records',
    onOutcome: (ctx, outcome) => push(usageRow(ctx, outcome)),
  }
}
