// Environment variables, validated once at start-up. The TypeBox schema is the
// single source of both the validator and the Env type.
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { existsSync } from 'node:fs'
import { upstreamAllowProblems } from '../security/upstream-guard.js'

const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
)

export const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.String({ pattern: '^(file:|postgres://|postgresql://)', default: 'file:./data/switchyard.db', secret: true }),
  GATEWAY_CONFIG: Type.Optional(Type.String({ minLength: 1 })),
  MASTER_KEY: Type.Optional(Type.String({ minLength: 32, secret: true })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32, secret: true })),
  LOG_LEVEL: Type.Union([LogLevel], { default: 'info' }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 4 * 1024 * 1024 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', secret: true })),
  /** GET /metrics requires Authorization: Bearer <METRICS_TOKEN> when set; loopback clients only otherwise. */
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, secret: true })),
  /** Variables a provider apiKey template may reference (comma-separated names or globs); see lib/security/key-vars.ts. */
  PROVIDER_KEY_VARS: Type.String({ pattern: '^\\s*[A-Za-z0-9_*?]+(\\s*,\\s*[A-Za-z0-9_*?]+)*\\s*$', default: '*_API_KEY' }),
  /** Host names or CIDR ranges that providers written through the admin API may reach although private; see lib/security/upstream-guard.ts. */
  ADMIN_UPSTREAM_ALLOW: Type.Optional(Type.String()),
  /** How often gateway keys are reloaded from a shared database (Redis or Postgres present); 0 disables. */
  KEYS_RELOAD_INTERVAL_MS: Type.Integer({ minimum: 0, default: 30_000 }),
  /** Largest non-streamed upstream response body read; beyond it the attempt fails with 502 (lib/proxy/read.ts). */
  UPSTREAM_MAX_BODY_BYTES: Type.Integer({ minimum: 1024, default: 32 * 1024 * 1024 }),
  /** Largest SSE line or event read from an upstream stream; beyond it the attempt fails (lib/sse.ts). */
  UPSTREAM_MAX_EVENT_BYTES: Type.Integer({ minimum: 1024, default: 4 * 1024 * 1024 }),
})
export type Env = Static<typeof EnvSchema>

/** The gateway's own secrets: variables the schema marks `secret: true`. */
export const ENV_SECRET_NAMES: readonly string[] = Object.entries(EnvSchema.properties)
  .filter(([, schema]) => (schema as { secret?: boolean }).secret === true)
  .map(([name]) => name)

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`)
    this.name = 'ConfigError'
  }
}

/** Reads and validates the gateway's env variables; throws ConfigError naming each bad one. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const v = source[key]
    if (v !== undefined && v !== '') raw[key] = v
  }
  const withDefaults = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw))
  const problems = [...Value.Errors(EnvSchema, withDefaults)].map((e) => {
    const name = e.path.replace(/^\//, '')
    // Never echo the value of a secret.
    const shown = /KEY|SECRET|URL|TOKEN/.test(name) || ENV_SECRET_NAMES.includes(name) ? '' : ` (got ${JSON.stringify(raw[name])})`
    return `${name}: ${e.message}${shown}`
  })
  problems.push(...upstreamAllowProblems((withDefaults as Env).ADMIN_UPSTREAM_ALLOW))
  if (problems.length) throw new ConfigError(problems)
  return withDefaults as Env
}

/** GATEWAY_CONFIG, else ./gateway.yaml when present, else the bundled example. */
export function resolveConfigPath(env: Pick<Env, 'GATEWAY_CONFIG'>, cwd = process.cwd()): string {
  if (env.GATEWAY_CONFIG) return env.GATEWAY_CONFIG
  return existsSync(`${cwd}/gateway.yaml`) ? `${cwd}/gateway.yaml` : `${cwd}/gateway.example.yaml`
}
