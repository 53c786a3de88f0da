// Shared by test/limits/*: gateways on the built-in mock provider, keys made
// through the admin API, and Redis key prefixes removed after each test.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Redis } from 'ioredis'

interface Tap {
  teardown(fn: () => unknown): void
}

/** One model "m" on the in-process mock; $1 per completion token unless priced otherwise. */
export function mockGateway(opts: { deployments?: unknown[]; limits?: unknown; extraModels?: unknown[] } = {}) {
  return {
    providers: [{ name: 'mock', type: 'mock' }],
    models: [
      { name: 'm', deployments: opts.deployments ?? [{ id: 'dep-a', provider: 'mock', model: 'mock-a', pricing: { input: 0, output: 1_000_000 } }] },
      ...(opts.extraModels ?? []),
    ],
    routing: { strategy: 'model' },
    ...(opts.limits ? { limits: opts.limits } : {}),
  }
}

export function adminHeaders(app: FastifyInstance): Record<string, string> {
  return { authorization: `Bearer ${app.jwt.sign({ sub: 'tester', role: 'admin' })}` }
}

export interface CreatedKey {
  id: string
  key: string
  name: string
  headers: Record<string, string>
}

export async function createKey(app: FastifyInstance, fields: Record<string, unknown>): Promise<CreatedKey> {
  const res = await app.inject({ method: 'POST', url: '/admin/keys', headers: adminHeaders(app), payload: fields })
  if (res.statusCode !== 201) throw new Error(`key creation failed: ${res.statusCode} ${res.body}`)
  const body = res.json() as { id: string; key: string; name: string }
  return { id: body.id, key: body.key, name: body.name, headers: { authorization: `Bearer ${body.key}` } }
}

export function chat(app: FastifyInstance, headers: Record<string, string>, body: Record<string, unknown> = {}, extra: { remoteAddress?: string } = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers,
    payload: { model: 'm', messages: [{ role: 'user', content: 'hello there, gateway' }], ...body },
    ...extra,
  })
}

/** A unique key prefix on TEST_REDIS_URL, every key under it deleted in teardown; undefined without Redis. */
export function redisPrefix(t: Tap): { url: string; prefix: string } | undefined {
  const url = process.env.TEST_REDIS_URL
  if (!url) return undefined
  const prefix = `sytest:${randomBytes(6).toString('hex')}:`
  t.teardown(async () => {
    const redis = new Redis(url, { maxRetriesPerRequest: 2 })
    try {
      let cursor = '0'
      for (let i = 0; i < 10_000; i++) {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
        if (keys.length) await redis.del(...keys)
        cursor = next
        if (cursor === '0') break
      }
    } finally {
      redis.disconnect()
    }
  })
  return { url, prefix }
}

/** Counts the keys under a prefix (to prove the Redis store is the one in use). */
export async function redisKeyCount(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 })
  try {
    return (await redis.keys(`${prefix}*`)).length
  } finally {
    redis.disconnect()
  }
}

/** Waits for every background counter/budget update of the app. */
export async function settled(app: FastifyInstance): Promise<void> {
  await app.limits.idle()
  await app.budgets.idle()
}

/** One model "m" on a real HTTP upstream: every answer reports 5 completion tokens, priced so a request costs exactly $1.00. */
export function upstreamGateway(url: string, limits?: unknown) {
  return {
    providers: [{ name: 'up', type: 'openai', baseUrl: `${url}/v1`, apiKey: 'k' }],
    models: [{ name: 'm', deployments: [{ id: 'dep-up', provider: 'up', model: 'up-model', pricing: { input: 0, output: 200_000 } }] }],
    routing: { strategy: 'model' },
    ...(limits ? { limits } : {}),
  }
}

/** Fires `n` requests at once; max_tokens 5 makes the estimate equal to the actual $1.00. */
export async function burst(app: FastifyInstance, headers: Record<string, string>, n: number) {
  const responses = await Promise.all(Array.from({ length: n }, () => chat(app, headers, { max_tokens: 5 })))
  await settled(app)
  return {
    accepted: responses.filter((r) => r.statusCode === 200).length,
    refused: responses.filter((r) => r.statusCode === 402 && r.json().error.code === 'budget_exceeded').length,
    other: responses.filter((r) => r.statusCode !== 200 && r.statusCode !== 402).map((r) => `${r.statusCode} ${r.body}`),
  }
}

export async function recordedSpend(app: FastifyInstance, keyId: string): Promise<number> {
  await app.usage.flush()
  const agg = await app.db.usageRecord.aggregate({ where: { keyId }, _sum: { costUsd: true } })
  return agg._sum.costUsd ?? 0
}

/**
 * Token and deployment counters use clock-aligned one-minute windows: a test
 * that counts across requests starts early in a minute, so its requests do not
 * straddle a window boundary (waits at most 15 s).
 */
export async function freshMinute(): Promise<void> {
  const into = Date.now() % 60_000
  if (into > 45_000) await new Promise((r) => setTimeout(r, 60_000 - into + 50))
}
