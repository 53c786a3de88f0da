// Three ways to run Switchyard from an application, one options shape
// (lib/modes/types.ts) and one Router interface for all of them:
//
//   direct    createGateway(): the same plugins and pipeline as the server,
//             in-process, with no HTTP server and no loopback hop
//   proxy     createRouter({ mode: 'proxy' }): over HTTP to a Switchyard or
//             any OpenAI-compatible gateway (lib/modes/proxy.ts)
//   embedded  createRouter({ mode: 'embedded' }): starts the gateway's HTTP
//             server in-process (startGateway), talks to it over loopback,
//             watches its health and falls back to direct when it stops
//             answering
//
// The Fastify plugin form (app.register(switchyardPlugin, { prefix, ... }))
// is in index.ts.
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request as httpRequest } from 'undici'
import { serverOptions, switchyard } from './app.js'
import { loadAppConfig, type AppConfig } from './plugins/config.js'
import { errors, GatewayError } from './lib/errors.js'
import { MASTER_IDENTITY, type KeyIdentity } from './lib/keys/keys.js'
import { validatorCompiler } from './lib/validation.js'
import { createProxyRouter, sseChunks } from './lib/modes/proxy.js'
import type { CallOptions, Router, SwitchyardOptions } from './lib/modes/types.js'
import type { PipelineObserver, PipelineRequest } from './lib/pipeline/types.js'
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, EmbeddingsRequest, EmbeddingsResponse } from './lib/openai/types.js'
import { toOpenAIError } from './routes/error-mapping.js'
import { ChatCompletionRequest as ChatSchema, EmbeddingsRequest as EmbeddingsSchema } from './routes/v1/schemas.js'

export type { CallOptions, Router, SwitchyardOptions }

/** The configuration an options object stands for: the environment, with the options on top. */
export function appConfigOf(opts: SwitchyardOptions): AppConfig {
  const env: Record<string, string | undefined> = { ...process.env }
  if (opts.databaseUrl !== undefined) env.DATABASE_URL = opts.databaseUrl
  if (opts.masterKey !== undefined) env.MASTER_KEY = opts.masterKey
  if (opts.jwtSecret !== undefined) env.JWT_SECRET = opts.jwtSecret
  if (opts.redisUrl !== undefined) env.REDIS_URL = opts.redisUrl
  if (opts.logLevel !== undefined) env.LOG_LEVEL = opts.logLevel
  if (typeof opts.config === 'string') return loadAppConfig({ env: { ...env, GATEWAY_CONFIG: opts.config } })
  if (opts.config === undefined || opts.config === null) throw new TypeError('switchyard: options.config is required (an object of the YAML file\'s shape, or a path to one)')
  return loadAppConfig({ env, gateway: opts.config })
}

// ---------------------------------------------------------------------------
// Direct mode

export interface GatewayOptions extends SwitchyardOptions {
  /**
   * Act as this gateway key (its model permissions, limits and budgets
   * apply). Default: the in-process caller is trusted like the master key.
   */
  apiKey?: string
  /** Pipeline observers of the application's own. */
  observers?: PipelineObserver[]
}

/** An in-process gateway: the Router interface, plus the Fastify instance that holds its state. */
export interface Gateway extends Router {
  readonly app: FastifyInstance
}

const checkChat = validatorCompiler({ schema: ChatSchema, httpPart: 'body' })
const checkEmbeddings = validatorCompiler({ schema: EmbeddingsSchema, httpPart: 'body' })

/** The same checks as the HTTP routes' schemas, with the same errors. */
function validate(check: typeof checkChat, body: unknown, bodyLimit: number): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw errors.invalidBody('The request must be an object.')
  if (check(body)) return
  throw toOpenAIError(Object.assign(new Error('invalid request'), { validation: check.errors ?? [] }) as never, bodyLimit)
}

/** Chunk objects from a streamed answer; leaving the loop early ends the upstream call and records what was relayed. */
async function* chunksOf(body: unknown): AsyncGenerator<ChatCompletionChunk> {
  // The built-in mock answers a whole stream at once, as one string.
  const source = typeof body === 'string' || Buffer.isBuffer(body) ? (async function* () { yield body })() : (body as AsyncIterable<Buffer | string>)
  yield* sseChunks(source)
}

/**
 * Direct mode: the gateway's plugins and pipeline in this process (routing,
 * translation, retries, fallbacks, limits, cost and records as the server
 * does them), called without HTTP. Without `databaseUrl`, state lives in a
 * temporary SQLite file that close() deletes: records last as long as the
 * gateway object.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const scratch = options.databaseUrl === undefined ? mkdtempSync(join(tmpdir(), 'switchyard-direct-')) : undefined
  const config = appConfigOf({ ...options, databaseUrl: options.databaseUrl ?? `file:${join(scratch!, 'switchyard.db')}` })
  const app = Fastify({ logger: { level: config.env.LOG_LEVEL }, pluginTimeout: 60_000 })
  try {
    await app.register(fp(switchyard, { name: 'switchyard' }), { config, http: false, observers: options.observers })
    await app.ready()
  } catch (err) {
    await app.close().catch(() => undefined)
    if (scratch) rmSync(scratch, { recursive: true, force: true })
    throw err
  }
  let identity: KeyIdentity = { ...MASTER_IDENTITY, name: 'direct' }
  if (options.apiKey !== undefined) {
    const found = app.keys.verify(options.apiKey)
    if (!found) {
      await app.close()
      if (scratch) rmSync(scratch, { recursive: true, force: true })
      throw errors.invalidKey()
    }
    identity = found
  }
  const bodyLimit = config.env.BODY_LIMIT_BYTES
  let closed = false

  const request = (entryPoint: 'chat' | 'embeddings', body: ChatCompletionRequest | EmbeddingsRequest, call?: CallOptions): PipelineRequest => {
    if (closed) throw new GatewayError({ status: 503, type: 'server_error', code: 'gateway_closed', message: 'This gateway was closed.', param: null })
    const stream = entryPoint === 'chat' && (body as ChatCompletionRequest).stream === true
    return {
      id: `req_${randomUUID().replace(/-/g, '')}`,
      entryPoint,
      operation: entryPoint,
      identity,
      body,
      stream,
      includeUsage: stream && (body as ChatCompletionRequest).stream_options?.include_usage === true,
      headers: call?.headers ? Object.fromEntries(Object.entries(call.headers).map(([k, v]) => [k.toLowerCase(), v])) : {},
      signal: call?.signal,
      startedAt: performance.now(),
    }
  }

  async function chat(body: ChatCompletionRequest, call?: CallOptions): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    validate(checkChat, body, bodyLimit)
    const res = await app.pipeline.run(request('chat', body, call))
    if (body.stream === true) return chunksOf(res.body)
    return JSON.parse(String(res.body)) as ChatCompletion
  }

  return {
    app,
    chat: chat as Router['chat'],
    async embeddings(body, call) {
      validate(checkEmbeddings, body, bodyLimit)
      const res = await app.pipeline.run(request('embeddings', body, call))
      return JSON.parse(String(res.body)) as EmbeddingsResponse
    },
    async close() {
      if (closed) return
      closed = true
      await app.close()
      if (scratch) rmSync(scratch, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------------------
// The HTTP server, in-process

export interface StartOptions extends SwitchyardOptions {
  /** Default 0: a free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
}

export interface StartedGateway {
  /** e.g. http://127.0.0.1:41234 (the API is under /v1). */
  url: string
  app: FastifyInstance
  close(): Promise<void>
}

/** Runs the standalone gateway (all of /v1, /admin, /docs, /ui) in this process. */
export async function startGateway(options: StartOptions): Promise<StartedGateway> {
  const config = appConfigOf(options)
  const app = Fastify(serverOptions(config))
  await app.register(fp(switchyard, { name: 'switchyard' }), { config })
  try {
    await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' })
  } catch (err) {
    await app.close().catch(() => undefined)
    throw err
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const host = options.host ?? '127.0.0.1'
  let closing: Promise<void> | undefined
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    app,
    close: () => (closing ??= app.close()),
  }
}

// ---------------------------------------------------------------------------
// One interface, three modes

export type RouterOptions =
  | ({ mode: 'direct' } & GatewayOptions)
  | { mode: 'proxy'; baseUrl: string; apiKey?: string; headers?: Record<string, string> }
  | ({ mode: 'embedded'; healthCheckMs?: number } & SwitchyardOptions)

/** The embedded router, with the in-process server it started and which side is answering. */
export interface EmbeddedRouter extends Router {
  readonly server: StartedGateway
  /** 'proxy' while the in-process server answers, 'direct' after it stopped. */
  readonly serving: 'proxy' | 'direct'
}

/** Errors that mean the server did not answer at all (as opposed to an HTTP error answer). */
function unreachable(err: unknown): boolean {
  if (err instanceof GatewayError) return false
  const code = (err as { code?: string }).code ?? ''
  return /ECONNREFUSED|ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED|UND_ERR_CONNECT_TIMEOUT|ENOTFOUND/.test(code) || (err as Error).name === 'SocketError'
}

export async function createRouter(options: RouterOptions): Promise<Router> {
  if (options.mode === 'proxy') return createProxyRouter(options)
  if (options.mode === 'direct') return createGateway(options)
  if (options.mode !== 'embedded') throw new TypeError(`switchyard: unknown mode ${String((options as { mode?: unknown }).mode)}`)
  return createEmbeddedRouter(options)
}

async function createEmbeddedRouter(options: { healthCheckMs?: number } & SwitchyardOptions): Promise<EmbeddedRouter> {
  // The router needs a key for its own server: the one given, else a fresh one for this process only.
  const masterKey = options.masterKey ?? `sk-sy-embedded-${randomBytes(24).toString('base64url')}`
  const server = await startGateway({ ...options, masterKey })
  const proxy = createProxyRouter({ baseUrl: server.url, apiKey: masterKey })
  let direct: Promise<Gateway> | undefined
  let serving: 'proxy' | 'direct' = 'proxy'
  // The same database as the server: records and keys carry over.
  const fallback = () => (direct ??= createGateway({ ...options, masterKey, databaseUrl: server.app.config.env.DATABASE_URL }))

  const check = async () => {
    try {
      const res = await httpRequest(`${server.url}/health`, { headersTimeout: 2_000, bodyTimeout: 2_000 })
      await res.body.dump()
      serving = res.statusCode === 200 ? 'proxy' : 'direct'
    } catch {
      serving = 'direct'
    }
    if (serving === 'direct') void fallback().catch(() => undefined)
  }
  const timer = setInterval(() => void check(), options.healthCheckMs ?? 1_000)
  timer.unref()

  // Through the server while it answers; on a connection failure, this call and the next go direct.
  const call = async <T>(viaProxy: () => Promise<T>, viaDirect: (g: Gateway) => Promise<T>): Promise<T> => {
    if (serving === 'proxy') {
      try {
        return await viaProxy()
      } catch (err) {
        if (!unreachable(err)) throw err
        serving = 'direct'
      }
    }
    return viaDirect(await fallback())
  }

  return {
    server,
    get serving() {
      return serving
    },
    chat: ((body: ChatCompletionRequest, opts?: CallOptions) => call(() => proxy.chat(body, opts), (g) => g.chat(body, opts))) as Router['chat'],
    embeddings: (body, opts) => call(() => proxy.embeddings(body, opts), (g) => g.embeddings(body, opts)),
    async close() {
      clearInterval(timer)
      await proxy.close()
      await server.close()
      if (direct) await (await direct).close()
    },
  }
}
