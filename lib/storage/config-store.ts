// Routing configuration in the database, and the rule for how the YAML file
// and the admin API share it:
//
//   Every provider, model, deployment and routing setting row records its
//   `source`: "yaml" or "admin". At start-up the YAML file is applied as a
//   seed: rows it owns (source "yaml") are created, updated or deleted to match
//   it; rows last written through the admin API (source "admin") are left as
//   they are, whatever the YAML says. So admin changes survive restarts, and
//   the YAML stays authoritative for everything nobody changed at runtime.
//   Deleting an admin-managed row hands it back to YAML on the next start.
import type { Db } from './client.js'
import { deploymentId, type GatewayConfig, type ModelConfig, type ProviderConfig } from '../config/gateway-config.js'

export type Source = 'yaml' | 'admin'

// Who wrote each provider loadConfig returns, kept beside the config objects
// (not in them) so exports and re-validation see the plain YAML shape.
const providerSources = new WeakMap<object, Source>()

/**
 * Who wrote a provider loadConfig returned: "yaml" (the operator's file) or
 * "admin" (the admin API). undefined for a provider object that did not come
 * from the database (a config given directly).
 */
export function providerSource(p: ProviderConfig): Source | undefined {
  return providerSources.get(p)
}

type ProviderOptions = Pick<ProviderConfig, 'apiVersion' | 'headers' | 'timeouts' | 'maxConnections' | 'responsesApi'>
type ModelOptions = Pick<ModelConfig, 'contextWindowFallbacks' | 'timeouts' | 'retries'>

const json = (v: unknown) => JSON.stringify(v ?? null)
function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (!text) return fallback
  try {
    return (JSON.parse(text) as T) ?? fallback
  } catch {
    return fallback
  }
}
const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T

export function providerRow(p: ProviderConfig, source: Source) {
  const options: ProviderOptions = defined({ apiVersion: p.apiVersion, headers: p.headers, timeouts: p.timeouts, maxConnections: p.maxConnections, responsesApi: p.responsesApi })
  return { id: p.name, name: p.name, type: p.type, baseUrl: p.baseUrl ?? null, apiKey: p.apiKey ?? null, options: json(options), source }
}

export function modelRow(m: ModelConfig, source: Source) {
  const options: ModelOptions = defined({ contextWindowFallbacks: m.contextWindowFallbacks, timeouts: m.timeouts, retries: m.retries })
  return {
    id: m.name,
    name: m.name,
    aliases: json(m.aliases ?? []),
    fallbacks: json(m.fallbacks ?? []),
    strategy: m.strategy ?? null,
    options: json(options),
    source,
  }
}

export function deploymentRows(m: ModelConfig, source: Source) {
  return m.deployments.map((d, position) => ({
    id: deploymentId(m.name, d),
    modelId: m.name,
    providerId: d.provider,
    upstreamModel: d.model ?? m.name,
    position,
    weight: d.weight ?? 1,
    enabled: d.enabled ?? true,
    priceInput: d.pricing?.input ?? null,
    priceOutput: d.pricing?.output ?? null,
    priceCacheRead: d.pricing?.cacheRead ?? null,
    priceCacheWrite: d.pricing?.cacheWrite ?? null,
    options: json(defined({ rpm: d.rpm, tpm: d.tpm })),
    source,
  }))
}

export const ROUTING_SETTINGS = ['routing.strategy', 'routing.defaultModel', 'routing.patterns', 'routing.timeouts', 'routing.retries', 'routing.cooldown'] as const

export interface SeedReport {
  created: string[]
  updated: string[]
  deleted: string[]
  /** YAML entries ignored because an admin change owns them. */
  adminOwned: string[]
}

/** Applies the YAML config under the rule above, in one transaction. */
export async function seedFromConfig(db: Db, cfg: GatewayConfig): Promise<SeedReport> {
  const report: SeedReport = { created: [], updated: [], deleted: [], adminOwned: [] }
  await db.$transaction(
    async (tx) => {
      const existingProviders = new Map((await tx.provider.findMany()).map((p) => [p.name, p]))
      for (const p of cfg.providers) {
        const current = existingProviders.get(p.name)
        const row = providerRow(p, 'yaml')
        if (!current) {
          await tx.provider.create({ data: row })
          report.created.push(`provider ${p.name}`)
        } else if (current.source === 'admin') {
          report.adminOwned.push(`provider ${p.name}`)
        } else {
          await tx.provider.update({ where: { id: current.id }, data: row })
          report.updated.push(`provider ${p.name}`)
        }
      }
      const yamlProviders = new Set(cfg.providers.map((p) => p.name))
      for (const p of existingProviders.values()) {
        if (p.source === 'yaml' && !yamlProviders.has(p.name)) {
          await tx.provider.delete({ where: { id: p.id } })
          report.deleted.push(`provider ${p.name}`)
        }
      }

      const existingModels = new Map((await tx.model.findMany()).map((m) => [m.name, m]))
      for (const m of cfg.models) {
        const current = existingModels.get(m.name)
        if (current?.source === 'admin') {
          report.adminOwned.push(`model ${m.name}`)
          continue
        }
        const row = modelRow(m, 'yaml')
        if (!current) {
          await tx.model.create({ data: row })
          report.created.push(`model ${m.name}`)
        } else {
          await tx.model.update({ where: { id: current.id }, data: row })
          report.updated.push(`model ${m.name}`)
        }
        const rows = deploymentRows(m, 'yaml')
        const existing = new Map((await tx.deployment.findMany({ where: { modelId: m.name } })).map((d) => [d.id, d]))
        for (const d of rows) {
          const cur = existing.get(d.id)
          if (cur?.source === 'admin') {
            report.adminOwned.push(`deployment ${d.id}`)
            continue
          }
          // A deployment whose provider is admin-owned and gone cannot be seeded.
          if (!(await tx.provider.findUnique({ where: { id: d.providerId } }))) continue
          if (cur) await tx.deployment.update({ where: { id: d.id }, data: d })
          else await tx.deployment.create({ data: d })
        }
        const ids = new Set(rows.map((d) => d.id))
        for (const d of existing.values()) {
          if (d.source === 'yaml' && !ids.has(d.id)) await tx.deployment.delete({ where: { id: d.id } })
        }
      }
      const yamlModels = new Set(cfg.models.map((m) => m.name))
      for (const m of existingModels.values()) {
        if (m.source === 'yaml' && !yamlModels.has(m.name)) {
          await tx.model.delete({ where: { id: m.id } })
          report.deleted.push(`model ${m.name}`)
        }
      }

      const settings: Record<(typeof ROUTING_SETTINGS)[number], unknown> = {
        'routing.strategy': cfg.routing.strategy ?? 'model',
        'routing.defaultModel': cfg.routing.defaultModel ?? null,
        'routing.patterns': cfg.routing.patterns ?? [],
        'routing.timeouts': cfg.routing.timeouts ?? null,
        'routing.retries': cfg.routing.retries ?? null,
        'routing.cooldown': cfg.routing.cooldown ?? null,
      }
      for (const key of ROUTING_SETTINGS) {
        const current = await tx.setting.findUnique({ where: { key } })
        if (current?.source === 'admin') {
          report.adminOwned.push(`setting ${key}`)
          continue
        }
        await tx.setting.upsert({
          where: { key },
          create: { key, value: json(settings[key]), source: 'yaml' },
          update: { value: json(settings[key]), source: 'yaml' },
        })
      }
    },
    { timeout: 60_000, maxWait: 60_000 },
  )
  return report
}

/** What loadConfig reads through: the client, or a transaction's client. */
export type ConfigReader = Pick<Db, 'provider' | 'model' | 'deployment' | 'setting'>

/** Reads the effective configuration back, in the YAML shape, ids filled in. */
export async function loadConfig(db: ConfigReader): Promise<GatewayConfig> {
  const [providers, models, deployments, settings] = await Promise.all([
    db.provider.findMany({ orderBy: { createdAt: 'asc' } }),
    db.model.findMany({ orderBy: { createdAt: 'asc' } }),
    db.deployment.findMany({ orderBy: [{ modelId: 'asc' }, { position: 'asc' }] }),
    db.setting.findMany(),
  ])
  const setting = (key: string) => parseJson<unknown>(settings.find((s) => s.key === key)?.value, null)
  const byModel = new Map<string, typeof deployments>()
  for (const d of deployments) {
    const list = byModel.get(d.modelId) ?? []
    list.push(d)
    byModel.set(d.modelId, list)
  }
  const providerName = new Map(providers.map((p) => [p.id, p.name]))
  return {
    providers: providers.map((p) => {
      const config = defined({
        name: p.name,
        type: p.type as ProviderConfig['type'],
        baseUrl: p.baseUrl ?? undefined,
        apiKey: p.apiKey ?? undefined,
        ...parseJson<ProviderOptions>(p.options, {}),
      })
      providerSources.set(config, p.source === 'yaml' ? 'yaml' : 'admin')
      return config
    }),
    models: models.map((m) =>
      defined({
        name: m.name,
        aliases: parseJson<string[]>(m.aliases, []),
        fallbacks: parseJson<string[]>(m.fallbacks, []),
        strategy: m.strategy ?? undefined,
        ...parseJson<ModelOptions>(m.options, {}),
        deployments: (byModel.get(m.id) ?? []).map((d) =>
          defined({
            id: d.id,
            provider: providerName.get(d.providerId) ?? d.providerId,
            model: d.upstreamModel,
            weight: d.weight,
            enabled: d.enabled,
            pricing:
              d.priceInput != null && d.priceOutput != null
                ? defined({ input: d.priceInput, output: d.priceOutput, cacheRead: d.priceCacheRead ?? undefined, cacheWrite: d.priceCacheWrite ?? undefined })
                : undefined,
            ...parseJson<{ rpm?: number; tpm?: number }>(d.options, {}),
          }),
        ),
      }),
    ),
    routing: defined({
      strategy: (setting('routing.strategy') as string | null) ?? 'model',
      defaultModel: (setting('routing.defaultModel') as string | null) ?? undefined,
      patterns: (setting('routing.patterns') as GatewayConfig['routing']['patterns'] | null) ?? [],
      timeouts: (setting('routing.timeouts') as GatewayConfig['routing']['timeouts'] | null) ?? undefined,
      retries: (setting('routing.retries') as GatewayConfig['routing']['retries'] | null) ?? undefined,
      cooldown: (setting('routing.cooldown') as GatewayConfig['routing']['cooldown'] | null) ?? undefined,
    }),
  }
}
