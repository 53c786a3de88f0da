// Which environment variables a provider `apiKey: ${VAR}` template may read.
//
// An apiKey template is resolved against the gateway's environment and sent
// upstream as a credential, so whoever writes providers (the YAML file, or an
// admin through the API) could otherwise make the gateway send any variable
// to an origin they choose. The operator lists what may be read in
// PROVIDER_KEY_VARS (comma-separated names or globs, default `*_API_KEY`);
// the gateway's own secrets are never readable, whatever that list says.
import { ENV_SECRET_NAMES } from '../config/env.js'
import { globMatch } from '../routing/glob.js'

export const DEFAULT_PROVIDER_KEY_VARS = '*_API_KEY'

/**
 * Never resolvable: what the env schema marks secret (JWT_SECRET, MASTER_KEY,
 * DATABASE_URL, REDIS_URL) plus secrets read outside it.
 */
export const GATEWAY_SECRET_VARS: readonly string[] = [
  ...new Set([
    ...ENV_SECRET_NAMES,
    'JWT_SECRET',
    'MASTER_KEY',
    'DATABASE_URL',
    'REDIS_URL',
    'METRICS_TOKEN',
    'OTEL_EXPORTER_OTLP_HEADERS',
    'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
    'TEST_DATABASE_URL',
    'TEST_REDIS_URL',
  ]),
]

/**
 * What a config export writes in place of a literal key. A file holding it is
 * still a valid config (the provider simply has no usable key), so the
 * template is accepted, and never resolved.
 */
export const EXPORT_PLACEHOLDER = '${REDACTED}'
const PLACEHOLDER_VAR = 'REDACTED'

const TEMPLATE_VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g

/** The variable names a template references, in order, without duplicates. */
export function templateVars(template: string): string[] {
  return [...new Set([...template.matchAll(TEMPLATE_VAR)].map((m) => m[1]!))]
}

export interface KeyVarPolicy {
  /** The allow-list as configured, for messages. */
  readonly spec: string
  allows(name: string): boolean
  /** Why `name` may not be read, or undefined when it may. */
  refusal(name: string): string | undefined
}

export function keyVarPolicy(spec: string | undefined = DEFAULT_PROVIDER_KEY_VARS): KeyVarPolicy {
  const effective = spec && spec.trim() ? spec.trim() : DEFAULT_PROVIDER_KEY_VARS
  const patterns = effective
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
  const refusal = (name: string): string | undefined => {
    if (GATEWAY_SECRET_VARS.includes(name)) return `${name} is one of the gateway's own secrets, which provider keys may never reference`
    if (name === PLACEHOLDER_VAR) return `${EXPORT_PLACEHOLDER} is the placeholder an export writes for a key it does not show`
    if (!patterns.some((p) => globMatch(p, name))) return `${name} is not allowed by PROVIDER_KEY_VARS (${patterns.join(', ')})`
    return undefined
  }
  return { spec: effective, allows: (name) => refusal(name) === undefined, refusal }
}

/** The policy an environment configures (PROVIDER_KEY_VARS, default `*_API_KEY`). */
export function keyVarPolicyOf(env: Record<string, string | undefined>): KeyVarPolicy {
  return keyVarPolicy(env.PROVIDER_KEY_VARS)
}

/** Problems of one apiKey template ("<path>: ..."), empty when every variable may be read. */
export function keyTemplateProblems(template: string | undefined | null, policy: KeyVarPolicy, path = 'apiKey'): string[] {
  if (!template || template === EXPORT_PLACEHOLDER) return []
  return templateVars(template).flatMap((name) => {
    const why = policy.refusal(name)
    return why ? [`${path}: \${${name}} may not be used as a provider key: ${why}`] : []
  })
}
