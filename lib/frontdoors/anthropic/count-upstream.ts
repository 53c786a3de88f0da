// POST /v1/messages/count_tokens passed through to an Anthropic deployment:
// the client's body with only `model` rewritten, Anthropic's count returned.
import type { Pools } from '../../proxy/pools.js'
import type { ProviderEntry } from '../../routing/table.js'
import { anthropicNative } from '../../providers/anthropic/index.js'
import { errors, fromErrorInfo, GatewayError } from '../../errors.js'
import { rewriteModel } from '../../proxy/body.js'
import { readText } from '../../proxy/read.js'
import { isObject } from '../shared.js'

export interface UpstreamCount {
  input_tokens: number
}

/**
 * Anthropic's own count. Throws a GatewayError: the upstream's own error
 * (4xx, in its terms) or an unreachable / bad-answer error.
 */
export async function countTokensUpstream(opts: {
  pools: Pools
  provider: ProviderEntry
  upstreamModel: string
  raw: string
  parsed: Record<string, unknown>
  beta?: string
  timeoutMs: number
  signal?: AbortSignal
}): Promise<UpstreamCount> {
  const { provider } = opts
  const endpoint = anthropicNative.countTokens(provider.settings)
  const url = new URL(endpoint.url)
  const pool = opts.pools.get(url.origin, { connections: provider.maxConnections, guarded: provider.source !== 'yaml' })
  const signals = [AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])]
  let res
  try {
    res = await pool.request({
      method: 'POST',
      path: url.pathname + url.search,
      headers: { ...(opts.beta ? { 'anthropic-beta': opts.beta } : {}), ...endpoint.headers, 'content-type': 'application/json', accept: 'application/json' },
      body: rewriteModel(opts.raw, opts.upstreamModel, opts.parsed),
      signal: AbortSignal.any(signals),
    })
  } catch (err) {
    throw errors.upstreamUnreachable((err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? 'unknown error')
  }
  const text = await readText(res.body, 1024 * 1024).catch(() => '')
  if (res.statusCode >= 300) {
    const info = provider.adapter.error(res.statusCode, text, res.headers as Record<string, string | string[] | undefined>)
    throw fromErrorInfo(info, [provider.settings.apiKey])
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw errors.upstreamBadResponse('the count is not valid JSON')
  }
  if (!isObject(json) || typeof json.input_tokens !== 'number') throw errors.upstreamBadResponse('the count has no input_tokens')
  return { input_tokens: json.input_tokens }
}

export { GatewayError }
