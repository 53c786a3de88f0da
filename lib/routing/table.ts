// The in-memory routing table: every request resolves its model here, with no
// database access. It is rebuilt from the stored configuration whenever that
// changes (start-up, admin writes, change notifications from other instances).
import type { CooldownConfig, GatewayConfig, PriceConfig, RetriesConfig, TimeoutsConfig } from '../config/gateway-config.js'
import { deploymentId, resolveSecret } from '../config/gateway-config.js'
import { providerSource, type Source } from '../storage/config-store.js'
import { getAdapter } from '../providers/registry.js'
import type { ProviderAdapter, ProviderSettings, ProviderType } from '../providers/types.js'
import { globMatch } from './glob.js'

export interface ProviderEntry {
  settings: ProviderSettings
  adapter: ProviderAdapter
  timeouts?: TimeoutsConfig
  maxConnections?: number
  /** Set when the provider needs a key and its ${VAR} is not set (or not allowed by PROVIDER_KEY_VARS). */
  missingKey?: string
  /**
   * Who wrote it: "yaml" (the operator's file: may reach any address) or
   * "admin" (the admin API: connections are guarded, see lib/security/upstream-guard.ts).
   * A provider of unknown origin is treated as admin-written.
   */
  source: Source
}

/** One deployment of a model: what strategies rank and the proxy calls. */
export interface DeploymentEntry {
  id: string
  provider: string
  providerType: ProviderType
  model: string
  upstreamModel: string
  position: number
  weight: number
  enabled: boolean
  pricing?: PriceConfig
  rpm?: number
  tpm?: number
}

export interface ModelEntry {
  name: string
  aliases: string[]
  deployments: DeploymentEntry[]
  fallbacks: string[]
  contextWindowFallbacks: string[]
  strategy?: string
  timeouts?: TimeoutsConfig
  /** Per-model override of routing.retries. */
  retries?: RetriesConfig
  /** True for entries synthesized from a routing pattern. */
  fromPattern?: boolean
  /** The routing pattern (its glob) an entry synthesized from one came from: its name is the client's string. */
  pattern?: string
}

export type ResolvedVia = 'name' | 'alias' | 'pattern' | 'default'

export interface Resolution {
  model: ModelEntry
  via: ResolvedVia
}

const MAX_PATTERN_ENTRIES = 1000

/** The deployment id of a routing pattern: `pattern:<provider>:<glob>`. */
export const patternDeploymentId = (provider: string, match: string): string => `pattern:${provider}:${match}`

export class RoutingTable {
  readonly providers = new Map<string, ProviderEntry>()
  readonly models = new Map<string, ModelEntry>()
  private readonly byName = new Map<string, ModelEntry>()
  private readonly patternEntries = new Map<string, ModelEntry>()
  readonly deployments = new Map<string, DeploymentEntry>()
  readonly strategy: string
  readonly defaultModel?: string
  readonly timeouts?: TimeoutsConfig
  readonly retries?: RetriesConfig
  readonly cooldown?: CooldownConfig
  private readonly patterns: Array<{ match: string; provider: string }>

  constructor(readonly config: GatewayConfig, env: Record<string, string | undefined> = process.env) {
    for (const p of config.providers) {
      const apiKey = resolveSecret(p.apiKey, env)
      const entry: ProviderEntry = {
        settings: { name: p.name, type: p.type, baseUrl: p.baseUrl, apiKey, apiVersion: p.apiVersion, headers: p.headers, responsesApi: p.responsesApi },
        adapter: getAdapter(p.type),
        timeouts: p.timeouts,
        maxConnections: p.maxConnections,
        source: providerSource(p) ?? 'admin',
      }
      if (p.apiKey && apiKey === undefined) entry.missingKey = p.apiKey
      this.providers.set(p.name, entry)
    }
    for (const m of config.models) {
      const entry: ModelEntry = {
        name: m.name,
        aliases: m.aliases ?? [],
        fallbacks: m.fallbacks ?? [],
        contextWindowFallbacks: m.contextWindowFallbacks ?? [],
        strategy: m.strategy,
        timeouts: m.timeouts,
        retries: m.retries,
        deployments: m.deployments
          .filter((d) => this.providers.has(d.provider))
          .map((d, position) => ({
            id: deploymentId(m.name, d),
            provider: d.provider,
            providerType: this.providers.get(d.provider)!.settings.type,
            model: m.name,
            upstreamModel: d.model ?? m.name,
            position,
            weight: d.weight ?? 1,
            enabled: d.enabled ?? true,
            pricing: d.pricing,
            rpm: d.rpm,
            tpm: d.tpm,
          })),
      }
      this.models.set(m.name, entry)
      this.byName.set(m.name, entry)
      for (const a of entry.aliases) if (!this.byName.has(a)) this.byName.set(a, entry)
      for (const d of entry.deployments) this.deployments.set(d.id, d)
    }
    this.strategy = config.routing.strategy ?? 'model'
    this.defaultModel = config.routing.defaultModel
    this.timeouts = config.routing.timeouts
    this.retries = config.routing.retries
    this.cooldown = config.routing.cooldown
    this.patterns = config.routing.patterns ?? []
  }

  /** Resolves a requested model name; undefined means model_not_found. */
  resolve(name: string): Resolution | undefined {
    const direct = this.byName.get(name)
    if (direct) return { model: direct, via: direct.name === name ? 'name' : 'alias' }
    const pattern = this.resolvePattern(name)
    if (pattern) return { model: pattern, via: 'pattern' }
    if (this.defaultModel) {
      const fallback = this.byName.get(this.defaultModel)
      if (fallback) return { model: fallback, via: 'default' }
    }
    return undefined
  }

  /** A model by its exact public name or alias (no patterns, no default). */
  get(name: string): ModelEntry | undefined {
    return this.byName.get(name)
  }

  private resolvePattern(name: string): ModelEntry | undefined {
    const cached = this.patternEntries.get(name)
    if (cached) return cached
    const pattern = this.patterns.find((p) => globMatch(p.match, name))
    if (!pattern) return undefined
    const provider = this.providers.get(pattern.provider)
    if (!provider) return undefined
    const entry: ModelEntry = {
      name,
      aliases: [],
      fallbacks: [],
      contextWindowFallbacks: [],
      fromPattern: true,
      pattern: pattern.match,
      deployments: [
        {
          // One deployment (one statistics bucket, one circuit) per pattern,
          // not per name: clients choose the names, without bound.
          id: patternDeploymentId(pattern.provider, pattern.match),
          provider: pattern.provider,
          providerType: provider.settings.type,
          model: pattern.match,
          upstreamModel: name,
          position: 0,
          weight: 1,
          enabled: true,
        },
      ],
    }
    // Bounded: clients choose these names, so they must not grow memory forever.
    if (this.patternEntries.size >= MAX_PATTERN_ENTRIES) this.patternEntries.clear()
    this.patternEntries.set(name, entry)
    return entry
  }

  /**
   * The public model a deployment id serves: a configured model's name, or
   * the glob of a routing pattern (pattern:<provider>:<glob>); undefined for an
   * id this table does not have.
   */
  deploymentModel(id: string): string | undefined {
    const configured = this.deployments.get(id)
    if (configured) return configured.model
    return this.patterns.find((p) => patternDeploymentId(p.provider, p.match) === id)?.match
  }

  /** Public model names, for GET /v1/models (patterns are open-ended, so not listed). */
  publicModels(): string[] {
    return [...this.models.keys()]
  }
}
