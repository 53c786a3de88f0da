// Shared by the end-to-end resilience tests: two mock upstreams (providers
// "a" and "b"), fast retries, and small bounded polling helpers.
import { setTimeout as delay } from 'node:timers/promises'
import { startMockOpenAI, type MockOpenAI } from '../mocks/openai.js'
import { auth } from './app.js'

interface Tap {
  teardown(fn: () => unknown): void
}

export const json = { ...auth, 'content-type': 'application/json' }

export async function twoMocks(t: Tap, opts: Parameters<typeof startMockOpenAI>[0] = {}): Promise<{ a: MockOpenAI; b: MockOpenAI }> {
  const a = await startMockOpenAI(opts)
  t.teardown(() => a.close())
  const b = await startMockOpenAI(opts)
  t.teardown(() => b.close())
  return { a, b }
}

/**
 * Providers "a" and "b" on the two mocks, the given models, the `model`
 * strategy (declared order, so which deployment is tried first is known) and
 * retries with millisecond backoffs.
 */
export function resilienceConfig(a: MockOpenAI, b: MockOpenAI, models: unknown[], routing: Record<string, unknown> = {}) {
  return {
    providers: [
      { name: 'a', type: 'openai', baseUrl: `${a.url}/v1`, apiKey: 'sk-a' },
      { name: 'b', type: 'openai', baseUrl: `${b.url}/v1`, apiKey: 'sk-b' },
    ],
    models,
    routing: { strategy: 'model', retries: { baseMs: 1, capMs: 5 }, ...routing },
  }
}

/** A model on both mocks, "a" first. Deployment ids: `${name}:a:up-a`, `${name}:b:up-b`. */
export function duo(name: string, extra: Record<string, unknown> = {}) {
  return { name, deployments: [{ provider: 'a', model: 'up-a' }, { provider: 'b', model: 'up-b' }], ...extra }
}

export function solo(name: string, provider: 'a' | 'b', extra: Record<string, unknown> = {}) {
  return { name, deployments: [{ provider, model: `up-${provider}` }], ...extra }
}

export const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hello' }], ...extra })

export const serverError = { status: 500, body: { error: { message: 'boom', type: 'server_error', code: null } } }

/** Polls until `fn` is true; throws after `limitMs` (a bound, not a timing assertion). */
export async function until(what: string, fn: () => boolean | Promise<boolean>, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await delay(10)
  }
}

/** Rejects when `p` takes longer than `limitMs`. */
export function bounded<T>(what: string, p: Promise<T>, limitMs = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${limitMs} ms`)), limitMs)
  })
  return Promise.race([p, limit]).finally(() => clearTimeout(timer))
}
