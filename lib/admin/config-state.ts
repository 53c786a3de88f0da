// Shared by the admin routes that edit the routing configuration (providers,
// models, deployments, config import): validation with path-named problems,
// reference checks against the whole stored configuration, and secret
// redaction.
//
//   - Bodies are validated with the YAML schemas (lib/config's schemaProblems), so the
//     admin API and the YAML file accept exactly the same shapes and report
//     problems the same way: "deployments[0].provider: unknown provider ...".
//   - Reference checks run lib/config's referenceProblems on the stored
//     configuration before and after the change and report only the problems
//     the change introduces, with entries named rather than indexed
//     (models["gpt-4o"].fallbacks[0]). Clashes (a name or alias already used,
//     a duplicate deployment id) are 409; everything else 400.
//   - apiKey values are never returned: a view says whether one is set, and
//     shows it only when it is a bare ${VAR} reference (a variable name, not a
//     secret). Header values whose name looks like a credential are hidden the
//     same way. An export writes "${REDACTED}" in their place; an import or a
//     PATCH that sends a placeholder back keeps the stored value.
//   - ${VAR} references are accepted in apiKey only: the admin API never
//     interpolates the server's environment into other fields, so it cannot be
//     used to read environment variables back.
import { Value } from '@sinclair/typebox/value'
import type { Static, TSchema } from '@sinclair/typebox'
import { referenceProblems, schemaProblems, type GatewayConfig, type ProviderConfig } from '../config/gateway-config.js'
import { loadConfig, type ConfigReader } from '../storage/config-store.js'
import { adminErrors as errs } from './errors.js'
import { getAdapter } from '../providers/registry.js'
import type { ProviderType } from '../providers/types.js'
import { keyTemplateProblems, type KeyVarPolicy } from '../security/key-vars.js'
import { upstreamProblems, type UpstreamPolicy } from '../security/upstream-guard.js'

/** Written in place of an API key in an export (apiKey is never interpolated, so it stays a valid config). */
export const REDACTED = '${REDACTED}'
/** Written in place of a credential-like header value in an export (headers are interpolated: no ${...} there). */
export const REDACTED_HEADER = '[REDACTED]'
/** Written in place of a secret in views and audit entries. */
export const SET = '[set]'
const PLACEHOLDERS = new Set([REDACTED, REDACTED_HEADER, SET])

const ENV_REF = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/
const ANY_VAR = /\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}/
const SENSITIVE_HEADER = /auth|key|token|secret|password|cookie|signature/i

/** A bare ${VAR} reference: names a variable, holds no secret. */
export const isEnvRef = (v: string): boolean => ENV_REF.test(v)
export const isSensitiveHeader = (name: string): boolean => SENSITIVE_HEADER.test(name)

/** The path a problem starts with ("deployments[0].provider: ..." -> "deployments[0].provider"). */
export function paramOf(problem: string): string {
  const i = problem.indexOf(': ')
  return i < 0 ? problem : problem.slice(0, i)
}

const isConflict = (p: string) => /is already used by|duplicate|already exists/.test(p)

/** Throws 400 (or 409 when every problem is a clash) listing every problem; no-op when there is none. */
export function raise(problems: string[]): void {
  if (problems.length === 0) return
  const message = problems.join('; ')
  if (problems.every(isConflict)) throw errs.conflict(message, paramOf(problems[0]!))
  throw errs.invalid(message, paramOf(problems[0]!))
}

/**
 * Routes validate their body here (attachValidation: true, for messages that
 * name the field the way the YAML checks do); this rethrows what Fastify
 * found wrong with the querystring or the params, which stays Fastify's job.
 */
export function rethrowNonBodyValidation(request: { validationError?: Error & { validationContext?: string } }): void {
  const err = request.validationError
  if (err && err.validationContext !== 'body') throw err
}

/** Validates a body against a YAML schema; throws 400 naming each bad field. */
export function validate<S extends TSchema>(schema: S, value: unknown): Static<S> {
  raise(schemaProblems(schema, value))
  return value as Static<S>
}

/** Paths of ${VAR} references anywhere but in apiKey. */
export function envReferenceProblems(node: unknown, path = ''): string[] {
  if (typeof node === 'string') {
    return ANY_VAR.test(node) ? [`${path || '(root)'}: \${VAR} references are only accepted in apiKey (the admin API does not read the server's environment)`] : []
  }
  if (Array.isArray(node)) return node.flatMap((v, i) => envReferenceProblems(v, `${path}[${i}]`))
  if (node && typeof node === 'object') {
    return Object.entries(node).flatMap(([k, v]) => (k === 'apiKey' ? [] : envReferenceProblems(v, path ? `${path}.${k}` : k)))
  }
  return []
}

// ---------------------------------------------------------------------------
// Reference checks

function labelled(problem: string, cfg: GatewayConfig): string {
  return problem
    .replace(/^(models|providers)\[(\d+)\]/, (m, kind: 'models' | 'providers', i: string) => {
      const name = cfg[kind][Number(i)]?.name
      return name === undefined ? m : `${kind}[${JSON.stringify(name)}]`
    })
    .replace(/used by models\[(\d+)\]/, (m, i: string) => {
      const name = cfg.models[Number(i)]?.name
      return name === undefined ? m : `used by model ${JSON.stringify(name)}`
    })
}

export interface ChangeSubject {
  kind: 'models' | 'providers'
  name: string
  /** Extra path under the entry to strip too, e.g. "deployments[2]." for a deployment body. */
  under?: string
}

/**
 * Reference problems `after` has and `before` had not. Problems about
 * `subject` are reported relative to it (the request body), others with the
 * entry's name: models["other"].fallbacks[0]: unknown model "x".
 */
export function introducedProblems(before: GatewayConfig, after: GatewayConfig, subject?: ChangeSubject): string[] {
  const old = new Set(referenceProblems(before).map((p) => labelled(p, before)))
  const prefix = subject ? `${subject.kind}[${JSON.stringify(subject.name)}].${subject.under ?? ''}` : undefined
  return referenceProblems(after)
    .map((p) => labelled(p, after))
    .filter((p) => !old.has(p))
    .map((p) => {
      if (!prefix) return p
      if (p.startsWith(prefix)) return p.slice(prefix.length)
      // "models["m"].deployments[2]: duplicate deployment id ..." when the subject is that deployment.
      const bare = prefix.replace(/\.$/, '')
      return p.startsWith(`${bare}:`) ? `id${p.slice(bare.length)}` : p
    })
}

/** A configuration in a form that compares equal whatever order rows with equal timestamps came back in. */
const canonical = (cfg: GatewayConfig): string => {
  const byName = <T extends { name: string }>(list: T[]) => [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return JSON.stringify({ ...cfg, providers: byName(cfg.providers), models: byName(cfg.models) })
}

/**
 * For writes whose checks must run outside the transaction (they resolve
 * host names): throws 409 when the stored configuration, read again inside
 * the transaction, is no longer the one the checks saw.
 */
export async function assertConfigUnchanged(tx: ConfigReader, checked: GatewayConfig): Promise<void> {
  if (canonical(await loadConfig(tx)) !== canonical(checked)) throw errs.changedMeanwhile()
}

/** Applies Value.Default to a (schema-valid) YAML-shaped value. */
export const withDefaults = <T>(schema: TSchema, value: unknown): T => Value.Default(schema, Value.Clone(value)) as T

// ---------------------------------------------------------------------------
// Secrets

/** Headers with credential-like names replaced by `mask`. */
export function maskHeaders(headers: Record<string, string> | undefined, mask: string): Record<string, string> | undefined {
  if (!headers) return undefined
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, isSensitiveHeader(k) && !isEnvRef(v) ? mask : v]))
}

/**
 * A provider with its secrets masked (bare ${VAR} references are kept):
 * "export" writes ${REDACTED} / [REDACTED], "view" writes [set].
 */
export function maskProvider(p: ProviderConfig, mode: 'export' | 'view'): ProviderConfig {
  const out: ProviderConfig = { ...p }
  if (p.apiKey !== undefined && !isEnvRef(p.apiKey)) out.apiKey = mode === 'export' ? REDACTED : SET
  if (p.headers) out.headers = maskHeaders(p.headers, mode === 'export' ? REDACTED_HEADER : SET)
  return out
}

/**
 * Replaces placeholders ("${REDACTED}", "[REDACTED]", "[set]") in a provider body by the
 * stored values, so an exported or viewed provider can be sent back as is.
 * Returns the problems for placeholders with nothing stored behind them.
 */
export function restoreSecrets(p: Record<string, unknown>, stored: ProviderConfig | undefined, path = ''): string[] {
  const at = (k: string) => (path ? `${path}.${k}` : k)
  const problems: string[] = []
  const name = typeof p.name === 'string' ? p.name : stored?.name
  if (typeof p.apiKey === 'string' && PLACEHOLDERS.has(p.apiKey)) {
    if (stored?.apiKey !== undefined) p.apiKey = stored.apiKey
    else problems.push(`${at('apiKey')}: "${p.apiKey}" is a placeholder and provider "${name}" has no stored key to keep; send the key or a \${VAR} reference`)
  }
  if (p.headers && typeof p.headers === 'object' && !Array.isArray(p.headers)) {
    const headers = p.headers as Record<string, unknown>
    for (const [k, v] of Object.entries(headers)) {
      if (typeof v !== 'string' || !PLACEHOLDERS.has(v)) continue
      const keep = stored?.headers?.[k]
      if (keep !== undefined) headers[k] = keep
      else problems.push(`${at(`headers.${k}`)}: "${v}" is a placeholder and provider "${name}" has no stored value to keep`)
    }
  }
  return problems
}

// ---------------------------------------------------------------------------
// Where secrets may go
//
// Providers written here become admin-owned: their key templates may only
// name variables PROVIDER_KEY_VARS allows (lib/security/key-vars.ts), their
// baseUrl may only reach public addresses or what ADMIN_UPSTREAM_ALLOW lists
// (lib/security/upstream-guard.ts), and a stored secret never follows a
// provider to another origin: moving it means sending the key again.

/** Where a provider's requests go (scheme://host:port), its type's default when baseUrl is unset; undefined when unknown. */
export function originOf(p: { name?: string; type?: unknown; baseUrl?: unknown }): string | undefined {
  try {
    if (typeof p.baseUrl === 'string') return new URL(p.baseUrl).origin
    const adapter = getAdapter(p.type as ProviderType)
    if (adapter.local) return 'in-process'
    return new URL(adapter.endpoint('chat', { name: p.name ?? 'x', type: p.type as ProviderType }, 'model', false).url).origin
  } catch {
    return undefined
  }
}

const isPlaceholder = (v: unknown) => typeof v === 'string' && PLACEHOLDERS.has(v)

/**
 * When a write moves a provider to another origin, every secret stored for it
 * (the apiKey, credential-like header values) must be sent again or dropped
 * in the same write. `sent` is the provider body as received, placeholders
 * not yet restored. A PATCH keeps what it does not send; an import replaces
 * the whole provider, so only a placeholder keeps a stored value.
 */
export function secretsFollowingProblems(
  stored: ProviderConfig,
  sent: Record<string, unknown>,
  nextOrigin: string | undefined,
  mode: 'patch' | 'import',
  path = '',
): string[] {
  const from = originOf(stored)
  if (from === nextOrigin) return []
  const at = (k: string) => (path ? `${path}.${k}` : k)
  const move = `the provider moves from ${from ?? 'an unknown origin'} to ${nextOrigin ?? 'an unknown origin'}, and a stored secret never follows a provider to another origin`
  const problems: string[] = []
  const keyKept = isPlaceholder(sent.apiKey) || (mode === 'patch' && sent.apiKey === undefined)
  if (stored.apiKey !== undefined && keyKept) problems.push(`${at('apiKey')}: ${move}: send the API key again (or null to remove it)`)
  const headers = sent.headers
  for (const [k, v] of Object.entries(stored.headers ?? {})) {
    if (!isSensitiveHeader(k) || isEnvRef(v)) continue
    const given = headers && typeof headers === 'object' ? (headers as Record<string, unknown>)[k] : undefined
    const kept = isPlaceholder(given) || (mode === 'patch' && headers === undefined)
    if (kept) problems.push(`${at(`headers.${k}`)}: ${move}: send this header again (or leave it out)`)
  }
  return problems
}

/** apiKey templates naming variables the key policy does not allow. */
export function providerKeyProblems(p: { apiKey?: string | null }, policy: KeyVarPolicy, path = ''): string[] {
  return keyTemplateProblems(p.apiKey, policy, path ? `${path}.apiKey` : 'apiKey')
}

/** Write-time upstream check of an admin-written provider's baseUrl (DNS included). */
export async function providerUpstreamProblems(p: { baseUrl?: string }, policy: UpstreamPolicy, path = ''): Promise<string[]> {
  if (!p.baseUrl) return []
  const found = await upstreamProblems(p.baseUrl, policy)
  if (!found.length) return []
  const at = path ? `${path}.baseUrl` : 'baseUrl'
  return [`${at}: ${found.join('; ')}; providers written through the admin API may only reach public addresses (not loopback, private, link-local, unspecified or multicast ones) unless ADMIN_UPSTREAM_ALLOW lists the host or range, or the provider is defined in the YAML file`]
}
