// The YAML gateway configuration: schema, ${VAR} interpolation and the checks
// a schema cannot express (references between providers, models, patterns).
// Every problem is reported with its path, e.g.
//   models[2].deployments[0].provider: unknown provider "opnai"
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { PROVIDER_TYPES } from '../providers/types.js'
import { ConfigError } from './env.js'
import { keyTemplateProblems, keyVarPolicyOf, templateVars, type KeyVarPolicy } from '../security/key-vars.js'
import { STRATEGY_NAMES } from '../strategies/types.js'

const Price = Type.Object(
  {
    input: Type.Number({ minimum: 0 }),
    output: Type.Number({ minimum: 0 }),
    cacheRead: Type.Optional(Type.Number({ minimum: 0 })),
    cacheWrite: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
)

const Timeouts = Type.Object(
  {
    connectMs: Type.Optional(Type.Integer({ minimum: 1 })),
    firstByteMs: Type.Optional(Type.Integer({ minimum: 1 })),
    streamFirstByteMs: Type.Optional(Type.Integer({ minimum: 1 })),
    totalMs: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
)

// Retries of one deployment before the next candidate is tried. Defaults:
// lib/resilience/backoff.ts (DEFAULT_RETRY_POLICY).
const Retries = Type.Object(
  {
    attempts: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, description: 'Retries per deployment after the first attempt (default 2)' })),
    baseMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Backoff base: retry n waits random(0, min(capMs, baseMs * 2^n)) (default 100)' })),
    capMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Backoff ceiling (default 2000)' })),
    maxRetryAfterMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Longest upstream retry-after honoured; longer moves on to the next deployment (default 10000)' })),
  },
  { additionalProperties: false },
)

// The per-deployment circuit breaker. Defaults: lib/resilience/circuit.ts (DEFAULT_COOLDOWN).
const Cooldown = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ description: 'Default true' })),
    failureRate: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Open when this share of recent attempts failed (default 0.5)...' })),
    minRequests: Type.Optional(Type.Integer({ minimum: 1, description: '...out of at least this many within windowMs (default 20)' })),
    failures: Type.Optional(Type.Integer({ minimum: 1, description: 'Count rule used only where no traffic counts are known (default 5 within windowMs)' })),
    windowMs: Type.Optional(Type.Integer({ minimum: 1, description: 'Default 30000' })),
    consecutiveFailures: Type.Optional(Type.Integer({ minimum: 1, description: 'Open after this many faults in a row (default 5)' })),
    cooldownMs: Type.Optional(Type.Integer({ minimum: 1, description: 'First cool-down; doubled after each failed probe (default 30000)' })),
    maxCooldownMs: Type.Optional(Type.Integer({ minimum: 1, description: 'Default 300000' })),
  },
  { additionalProperties: false },
)

export const ProviderConfigSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
    type: Type.Union(PROVIDER_TYPES.map((t) => Type.Literal(t))),
    baseUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    apiKey: Type.Optional(Type.String()),
    apiVersion: Type.Optional(Type.String()),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    timeouts: Type.Optional(Timeouts),
    maxConnections: Type.Optional(Type.Integer({ minimum: 1 })),
    responsesApi: Type.Optional(
      Type.Boolean({
        description:
          'openai / azure only: the server has the Responses API (POST {baseUrl}/responses), so /v1/responses requests are passed through as sent instead of translated to Chat Completions. Default false',
      }),
    ),
  },
  { additionalProperties: false },
)

export const DeploymentConfigSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:/@-]*$' })),
    provider: Type.String(),
    model: Type.Optional(Type.String({ minLength: 1 })),
    weight: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    pricing: Type.Optional(Price),
    enabled: Type.Optional(Type.Boolean()),
    rpm: Type.Optional(Type.Integer({ minimum: 1 })),
    tpm: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
)

export const ModelConfigSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    aliases: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    deployments: Type.Array(DeploymentConfigSchema, { minItems: 1 }),
    fallbacks: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    contextWindowFallbacks: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    strategy: Type.Optional(Type.String()),
    timeouts: Type.Optional(Timeouts),
    retries: Type.Optional(Retries),
  },
  { additionalProperties: false },
)

export const PatternConfigSchema = Type.Object(
  { match: Type.String({ minLength: 1 }), provider: Type.String() },
  { additionalProperties: false },
)

const TenantBudget = Type.Object(
  {
    dailyUsd: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    monthlyUsd: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  { additionalProperties: false },
)

/** Gateway-wide limits: defaults per key, tenant budgets, load shedding. Absent = unlimited. */
export const LimitsConfigSchema = Type.Object(
  {
    /** Requests per minute for a key without its own rpmLimit (the master key included). */
    rpm: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Tokens per minute for a key without its own tpmLimit. */
    tpm: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Budgets per tenant tag (the `tenant` of gateway keys), UTC day and month. */
    tenants: Type.Optional(Type.Record(Type.String({ minLength: 1 }), TenantBudget)),
    /**
     * Failed gateway-key checks (401) one client address may make per minute;
     * beyond it the address gets 429 without its key being checked. Default 30; 0 disables.
     */
    authFailuresPerMinute: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Prefix of every Redis key the limits write (default "switchyard:"). */
    redisKeyPrefix: Type.Optional(Type.String({ minLength: 1 })),
    /** Load shedding (@fastify/under-pressure): 503 + retry-after before the event loop stalls. */
    shedding: Type.Optional(
      Type.Object(
        {
          /** Mean event-loop delay (ms) above which requests are refused; 0 disables. Default 1000. */
          maxEventLoopDelayMs: Type.Optional(Type.Integer({ minimum: 0 })),
          /** Heap used (bytes) above which requests are refused; default off. */
          maxHeapUsedBytes: Type.Optional(Type.Integer({ minimum: 0 })),
          /** retry-after (seconds) of the 503; default 10. */
          retryAfterSec: Type.Optional(Type.Integer({ minimum: 1 })),
          /** How often the measures are sampled (ms); default 1000. */
          sampleIntervalMs: Type.Optional(Type.Integer({ minimum: 10 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

/** Metrics and traces (issue 12). Absent = the defaults below. */
export const ObservabilityConfigSchema = Type.Object(
  {
    metrics: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean({ description: 'Prometheus metrics and GET /metrics. Default true' })),
          keyLabels: Type.Optional(Type.Boolean({ description: 'Per-key series, labelled by key name (never the key). Default false' })),
          maxLabelValues: Type.Optional(Type.Integer({ minimum: 1, description: 'Past this many values of one label, new ones are reported as "other". Default 500' })),
        },
        { additionalProperties: false },
      ),
    ),
    tracing: Type.Optional(
      Type.Object(
        { captureContent: Type.Optional(Type.Boolean({ description: 'Record prompts and answers on spans. Default false' })) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

export const GatewayConfigSchema = Type.Object(
  {
    providers: Type.Array(ProviderConfigSchema, { default: [] }),
    models: Type.Array(ModelConfigSchema, { default: [] }),
    routing: Type.Object(
      {
        strategy: Type.Optional(Type.String()),
        defaultModel: Type.Optional(Type.String()),
        patterns: Type.Optional(Type.Array(PatternConfigSchema)),
        timeouts: Type.Optional(Timeouts),
        retries: Type.Optional(Retries),
        cooldown: Type.Optional(Cooldown),
      },
      { additionalProperties: false, default: {} },
    ),
    limits: Type.Optional(LimitsConfigSchema),
    observability: Type.Optional(ObservabilityConfigSchema),
  },
  { additionalProperties: false },
)

export type LimitsConfig = Static<typeof LimitsConfigSchema>
export type PriceConfig = Static<typeof Price>
export type TimeoutsConfig = Static<typeof Timeouts>
export type RetriesConfig = Static<typeof Retries>
export type CooldownConfig = Static<typeof Cooldown>
export type ProviderConfig = Static<typeof ProviderConfigSchema>
export type DeploymentConfig = Static<typeof DeploymentConfigSchema>
export type ModelConfig = Static<typeof ModelConfigSchema>
export type PatternConfig = Static<typeof PatternConfigSchema>
export type GatewayConfig = Static<typeof GatewayConfigSchema>

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/**
 * Replaces ${VAR} and ${VAR:-default} from env. Fields named apiKey keep their
 * template: secrets are resolved when a provider is used, so they never reach
 * the database or an exported config.
 */
export function interpolate(node: unknown, env: Record<string, string | undefined>, path: string, problems: string[]): unknown {
  if (typeof node === 'string') {
    return node.replace(VAR, (_m, name: string, fallback: string | undefined) => {
      const v = env[name]
      if (v !== undefined && v !== '') return v
      if (fallback !== undefined) return fallback
      problems.push(`${path}: environment variable ${name} is not set`)
      return ''
    })
  }
  if (Array.isArray(node)) return node.map((v, i) => interpolate(v, env, `${path}[${i}]`, problems))
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === 'apiKey' ? v : interpolate(v, env, path ? `${path}.${k}` : k, problems)
    }
    return out
  }
  return node
}

/**
 * Resolves an apiKey template; undefined when a referenced variable is unset
 * or is one the key policy (PROVIDER_KEY_VARS, read from `env` by default)
 * does not allow: such a provider is unusable, and the value is never read.
 */
export function resolveSecret(
  template: string | undefined | null,
  env: Record<string, string | undefined> = process.env,
  policy: KeyVarPolicy = keyVarPolicyOf(env),
): string | undefined {
  if (!template) return undefined
  if (!templateVars(template).every((name) => policy.allows(name))) return undefined
  let missing = false
  const value = template.replace(VAR, (_m, name: string, fallback: string | undefined) => {
    const v = env[name]
    if (v !== undefined && v !== '') return v
    if (fallback !== undefined) return fallback
    missing = true
    return ''
  })
  return missing ? undefined : value
}

/** "/models/2/deployments/0/provider" -> "models[2].deployments[0].provider" */
export function formatPath(pointer: string): string {
  return pointer
    .split('/')
    .filter(Boolean)
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '')
}

/**
 * Every schema problem of `value`, one per path, named the way users write
 * paths ("models[2].deployments[0].provider: ..."), under `prefix` when given
 * (a body nested in a larger document). A nullable field (T | null) given a
 * non-null value is checked against T, so the problem names the inner field.
 */
export function schemaProblems(schema: TSchema, value: unknown, prefix = ''): string[] {
  const join = (path: string) => (!prefix ? path || '(root)' : !path ? prefix : path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`)
  const seen = new Set<string>()
  const problems: string[] = []
  for (const e of Value.Errors(schema, value)) {
    const path = formatPath(e.path)
    // Unions report one error per branch; the first is enough per path.
    if (seen.has(path)) continue
    seen.add(path)
    const branches = (e.schema as { anyOf?: TSchema[] }).anyOf
    const nonNull = branches?.filter((b) => (b as { type?: unknown }).type !== 'null')
    if (branches && nonNull && nonNull.length === 1 && nonNull.length < branches.length && e.value !== null) {
      problems.push(...schemaProblems(nonNull[0]!, e.value, join(path)))
      continue
    }
    const extra = branches ? `: expected one of ${branches.map((b) => ('const' in b ? JSON.stringify(b.const) : (b as { type?: string }).type)).join(', ')}` : ''
    problems.push(`${join(path)}: ${e.message}${extra}`)
  }
  return problems
}

/**
 * What a baseUrl may not contain: a query or fragment would swallow the path
 * the gateway appends (so it could POST anywhere on the host), and user info
 * would send credentials nobody configured as such.
 */
export function baseUrlProblems(baseUrl: string): string[] {
  const problems: string[] = []
  let url: URL | undefined
  try {
    url = new URL(baseUrl)
  } catch {
    return ['not a valid URL']
  }
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(baseUrl) || url.username || url.password) problems.push('must not contain user info (user:password@)')
  if (baseUrl.includes('?')) problems.push('must not contain a query (?)')
  if (baseUrl.includes('#')) problems.push('must not contain a fragment (#)')
  if (!url.hostname) problems.push('has no host')
  return problems
}

/** Cross-reference checks on a schema-valid config. */
export function referenceProblems(cfg: GatewayConfig): string[] {
  const problems: string[] = []
  const providers = new Set<string>()
  cfg.providers.forEach((p, i) => {
    if (providers.has(p.name)) problems.push(`providers[${i}].name: duplicate provider "${p.name}"`)
    providers.add(p.name)
    if (p.type === 'azure' && !p.baseUrl)
      problems.push(`providers[${i}].baseUrl: required for azure providers`)
    if (p.baseUrl) for (const m of baseUrlProblems(p.baseUrl)) problems.push(`providers[${i}].baseUrl: ${m}`)
    if (p.responsesApi && p.type !== 'openai' && p.type !== 'azure') problems.push(`providers[${i}].responsesApi: only openai and azure providers can declare the Responses API`)
  })
  const names = new Map<string, string>()
  const deploymentIds = new Set<string>()
  cfg.models.forEach((m, i) => {
    for (const [j, n] of [m.name, ...(m.aliases ?? [])].entries()) {
      const where = j === 0 ? `models[${i}].name` : `models[${i}].aliases[${j - 1}]`
      if (names.has(n)) problems.push(`${where}: "${n}" is already used by ${names.get(n)}`)
      else names.set(n, `models[${i}]`)
    }
    if (m.strategy && !(STRATEGY_NAMES as readonly string[]).includes(m.strategy))
      problems.push(`models[${i}].strategy: unknown strategy "${m.strategy}" (expected one of ${STRATEGY_NAMES.join(', ')})`)
    m.deployments.forEach((d, j) => {
      if (!providers.has(d.provider)) problems.push(`models[${i}].deployments[${j}].provider: unknown provider "${d.provider}"`)
      const id = deploymentId(m.name, d)
      if (deploymentIds.has(id)) problems.push(`models[${i}].deployments[${j}]: duplicate deployment id "${id}" (set a distinct id)`)
      deploymentIds.add(id)
    })
  })
  cfg.models.forEach((m, i) => {
    for (const key of ['fallbacks', 'contextWindowFallbacks'] as const) {
      m[key]?.forEach((f, j) => {
        if (!names.has(f)) problems.push(`models[${i}].${key}[${j}]: unknown model "${f}"`)
        else if (f === m.name) problems.push(`models[${i}].${key}[${j}]: a model cannot fall back to itself`)
      })
    }
  })
  const r = cfg.routing
  if (r.strategy && !(STRATEGY_NAMES as readonly string[]).includes(r.strategy))
    problems.push(`routing.strategy: unknown strategy "${r.strategy}" (expected one of ${STRATEGY_NAMES.join(', ')})`)
  if (r.defaultModel && !names.has(r.defaultModel)) problems.push(`routing.defaultModel: unknown model "${r.defaultModel}"`)
  r.patterns?.forEach((p, i) => {
    if (!providers.has(p.provider)) problems.push(`routing.patterns[${i}].provider: unknown provider "${p.provider}"`)
  })
  return problems
}

/** Stable id of a deployment: explicit `id`, else model:provider:upstream. */
export function deploymentId(modelName: string, d: Pick<DeploymentConfig, 'id' | 'provider' | 'model'>): string {
  return d.id ?? `${modelName}:${d.provider}:${d.model ?? modelName}`
}

/** Validates a parsed config object (already YAML-decoded). */
export function parseGatewayConfig(doc: unknown, env: Record<string, string | undefined> = process.env): GatewayConfig {
  const problems: string[] = []
  const interpolated = interpolate(doc ?? {}, env, '', problems)
  const withDefaults = Value.Default(GatewayConfigSchema, Value.Clone(interpolated))
  // A path whose variable is unset already has its problem; don't report it twice.
  const reported = new Set(problems.map((p) => p.slice(0, p.indexOf(':'))))
  problems.push(...schemaProblems(GatewayConfigSchema, withDefaults).filter((p) => !reported.has(p.slice(0, p.indexOf(':')))))
  if (problems.length === 0) {
    const cfg = withDefaults as GatewayConfig
    problems.push(...referenceProblems(cfg))
    const policy = keyVarPolicyOf(env)
    cfg.providers.forEach((p, i) => problems.push(...keyTemplateProblems(p.apiKey, policy, `providers[${i}].apiKey`)))
  }
  if (problems.length) throw new ConfigError(problems)
  return withDefaults as GatewayConfig
}

export function parseGatewayYaml(text: string, env: Record<string, string | undefined> = process.env): GatewayConfig {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    throw new ConfigError([`YAML syntax: ${(err as Error).message}`])
  }
  return parseGatewayConfig(doc, env)
}

export function loadGatewayConfig(path: string, env: Record<string, string | undefined> = process.env): GatewayConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError([`GATEWAY_CONFIG: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`])
  }
  try {
    return parseGatewayYaml(text, env)
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.problems.map((p) => `${path}: ${p}`))
    throw err
  }
}
