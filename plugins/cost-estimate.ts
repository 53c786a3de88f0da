// Prices and cost: the catalog (@pydantic/genai-prices) is copied into the
// database once per catalog version; per-deployment prices (YAML or admin)
// override it. Lookups at request time come from memory.
import fp from 'fastify-plugin'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { catalogEntries, lookupCatalogPrice } from '../lib/cost/catalog.js'
import { computeCost, type PriceEntry } from '../lib/cost/compute.js'
import type { DeploymentEntry } from '../lib/routing/table.js'
import type { Usage } from '../lib/openai/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    costEstimate: {
      /** USD per 1M tokens for a deployment: its own price, else the stored catalog, else the live catalog. */
      priceOf(deployment: Pick<DeploymentEntry, 'id' | 'providerType' | 'upstreamModel' | 'pricing'>): (PriceEntry & { source: string }) | undefined
      /** USD cost of a usage on a deployment; undefined when its price is unknown. */
      costOf(deployment: DeploymentEntry, usage: Usage): number | undefined
      /** Re-reads stored prices (after an admin change). */
      reload(): Promise<void>
    }
  }
}

// The package does not export its package.json; read it beside its entry point.
function packageVersion(name: string): string {
  let dir = dirname(createRequire(import.meta.url).resolve(name))
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === name && pkg.version) return pkg.version
    } catch {
      // keep walking up
    }
  }
  return 'unknown'
}

const catalogVersion = packageVersion('@pydantic/genai-prices')

export default fp(
  async (app) => {
    const versionKey = 'pricing.catalogVersion'
    const stored = await app.db.setting.findUnique({ where: { key: versionKey } })
    if (stored?.value !== JSON.stringify(catalogVersion)) {
      // One row per (provider type, model): an admin price replaces its catalog row.
      const overridden = new Set(
        (await app.db.priceEntry.findMany({ where: { source: 'admin' }, select: { providerType: true, model: true } })).map((r) => `${r.providerType}\u0000${r.model}`),
      )
      const entries = catalogEntries().filter((e) => !overridden.has(`${e.providerType}\u0000${e.model}`))
      await app.db.$transaction([
        app.db.priceEntry.deleteMany({ where: { source: 'catalog' } }),
        app.db.priceEntry.createMany({
          data: entries.map((e) => ({
            id: randomUUID(),
            providerType: e.providerType,
            model: e.model,
            input: e.price.input,
            output: e.price.output,
            cacheRead: e.price.cacheRead ?? null,
            cacheWrite: e.price.cacheWrite ?? null,
            source: 'catalog',
          })),
        }),
        app.db.setting.upsert({
          where: { key: versionKey },
          create: { key: versionKey, value: JSON.stringify(catalogVersion), source: 'catalog' },
          update: { value: JSON.stringify(catalogVersion) },
        }),
      ])
      app.log.info({ version: catalogVersion, entries: entries.length }, 'pricing catalog stored')
    }

    let table = new Map<string, PriceEntry & { source: string }>()
    // Keyed by the deployment object: a routing reload creates new objects, so
    // a changed deployment price is never served from this cache.
    let byDeployment = new WeakMap<object, (PriceEntry & { source: string }) | null>()
    const key = (type: string, model: string) => `${type}\u0000${model}`
    const reload = async () => {
      const rows = await app.db.priceEntry.findMany()
      const next = new Map<string, PriceEntry & { source: string }>()
      // Admin rows win over catalog rows for the same model.
      for (const r of rows.sort((a, b) => (a.source === 'admin' ? 1 : 0) - (b.source === 'admin' ? 1 : 0))) {
        next.set(key(r.providerType, r.model), {
          input: r.input,
          output: r.output,
          ...(r.cacheRead != null ? { cacheRead: r.cacheRead } : {}),
          ...(r.cacheWrite != null ? { cacheWrite: r.cacheWrite } : {}),
          source: r.source,
        })
      }
      table = next
      byDeployment = new WeakMap()
    }
    await reload()

    const priceOf: FastifyCostEstimate['priceOf'] = (d) => {
      const cached = byDeployment.get(d)
      if (cached !== undefined) return cached ?? undefined
      let price: (PriceEntry & { source: string }) | undefined
      if (d.pricing) price = { ...d.pricing, source: 'deployment' }
      else {
        price = table.get(key(d.providerType, d.upstreamModel))
        if (!price) {
          const live = lookupCatalogPrice(d.providerType, d.upstreamModel)
          if (live) price = { ...live, source: 'catalog' }
        }
      }
      byDeployment.set(d, price ?? null)
      return price
    }

    const costOf = (deployment: DeploymentEntry, usage: Usage) => {
      const price = priceOf(deployment)
      return price ? computeCost(usage, price).totalUsd : undefined
    }
    app.decorate('costEstimate', { priceOf, costOf, reload })
  },
  { name: 'cost-estimate', dependencies: ['prisma'] },
)

type FastifyCostEstimate = import('fastify').FastifyInstance['costEstimate']
