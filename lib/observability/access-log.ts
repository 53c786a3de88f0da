// The one access-log line per request: a flat object of named fields (the
// caller logs it, e.g. `log.info(line, 'request')`). Built from an explicit
// list of fields, never by copying an input object, so nothing the caller
// holds (a key, a header, a prompt) can slip into a log line. Unset fields
// are left out so lines stay short. Field names are documented in README
// ("Access log").
import type { EntryPoint, RefusalKind, TokenUsage, UsageSource } from './types.js'

export interface AccessLogInput {
  requestId: string
  /** 32-hex trace id when tracing is on. */
  traceId?: string
  /** Gateway key name (never the key). */
  keyName?: string
  tenant?: string
  entryPoint: EntryPoint
  /** The model as the client sent it (cut to 256 characters). */
  requestedModel?: string
  /** The fallback model that answered, when one did. */
  fallbackModel?: string
  deploymentId?: string
  provider?: string
  stream?: boolean
  status: number
  attempts?: number
  usage?: TokenUsage
  usageSource?: UsageSource
  costUsd?: number
  durationMs?: number
  overheadMs?: number
  ttftMs?: number
  /** Why admission refused the request (rate limit, budget, cap), when it did. */
  refusal?: RefusalKind
  /** The error code answered (OpenAI `error.code`), when the request failed. */
  errorCode?: string
}

export interface AccessLogLine {
  requestId: string
  traceId?: string
  key?: string
  tenant?: string
  entryPoint: EntryPoint
  model?: string
  fallbackModel?: string
  deployment?: string
  provider?: string
  stream?: boolean
  status: number
  attempts?: number
  inputTokens?: number
  outputTokens?: number
  cachedTokens?: number
  cacheWriteTokens?: number
  reasoningTokens?: number
  usageSource?: UsageSource
  costUsd?: number
  durationMs?: number
  overheadMs?: number
  ttftMs?: number
  refusal?: RefusalKind
  errorCode?: string
}

const MAX_MODEL_LENGTH = 256

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? undefined : Math.round(v * 1000) / 1000)

export function accessLogLine(i: AccessLogInput): AccessLogLine {
  const u = i.usage
  const line: AccessLogLine = {
    requestId: i.requestId,
    traceId: i.traceId,
    key: i.keyName,
    tenant: i.tenant,
    entryPoint: i.entryPoint,
    model: i.requestedModel?.slice(0, MAX_MODEL_LENGTH),
    fallbackModel: i.fallbackModel,
    deployment: i.deploymentId,
    provider: i.provider,
    stream: i.stream,
    status: i.status,
    attempts: i.attempts,
    inputTokens: u?.inputTokens,
    outputTokens: u?.outputTokens,
    cachedTokens: u?.cacheReadTokens || undefined,
    cacheWriteTokens: u?.cacheWriteTokens || undefined,
    reasoningTokens: u?.reasoningTokens || undefined,
    usageSource: u ? i.usageSource : undefined,
    costUsd: i.costUsd,
    durationMs: ms(i.durationMs),
    overheadMs: ms(i.overheadMs),
    ttftMs: ms(i.ttftMs),
    refusal: i.refusal,
    errorCode: i.errorCode,
  }
  for (const k of Object.keys(line) as Array<keyof AccessLogLine>) if (line[k] === undefined) delete line[k]
  return line
}
