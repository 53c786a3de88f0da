// Environment variables, validated once at start-up. The TypeBox schema is the
// single source of both the validator and the Env type.
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { existsSync } from 'node:fs'

const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
)

export const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.String({ pattern: '^(file:|postgres://|postgresql://)', default: 'file:./data/switchyard.db' }),
  GATEWAY_CONFIG: Type.Optional(Type.String({ minLength: 1 })),
  MASTER_KEY: Type.Optional(Type.String({ minLength: 8 })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  LOG_LEVEL: Type.Union([LogLevel], { default: 'info' }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 4 * 1024 * 1024 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
})
export type Env = Static<typeof EnvSchema>

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
    const shown = /KEY|SECRET|URL/.test(name) ? '' : ` (got ${JSON.stringify(raw[name])})`
    return `${name}: ${e.message}${shown}`
  })
  if (problems.length) throw new ConfigError(problems)
  return withDefaults as Env
}

/** GATEWAY_CONFIG, else ./gateway.yaml when present, else the bundled example. */
export function resolveConfigPath(env: Pick<Env, 'GATEWAY_CONFIG'>, cwd = process.cwd()): string {
  if (env.GATEWAY_CONFIG) return env.GATEWAY_CONFIG
  return existsSync(`${cwd}/gateway.yaml`) ? `${cwd}/gateway.yaml` : `${cwd}/gateway.example.yaml`
}
