// Model prices from the maintained @pydantic/genai-prices catalog (its bundled
// data snapshot; no network). No price is typed by hand in this project: the
// numbers all come from the package's data.
//
// Provider mapping (our provider type -> catalog provider ids, tried in order):
//   openai -> openai, azure -> azure then openai (the catalog's azure entry
//   also falls back to openai/anthropic/... itself), anthropic -> anthropic,
//   gemini -> google (a leading "models/" is stripped from the model id),
//   mock and anything else -> no price.
// Model ids are matched with the catalog's own rules (case-insensitive, dated
// snapshots such as gpt-4o-mini-2024-07-18 or claude-3-5-haiku-20241022 map to
// their family entry).
//
// Price conversion to PriceEntry (USD per 1M tokens):
//   input <- input_mtok, output <- output_mtok, cacheRead <- cache_read_mtok,
//   cacheWrite <- cache_write_mtok (Anthropic's 5-minute write; the 1-hour
//   cache_write_1h_mtok rate is not used). A missing input or output rate is 0
//   (embedding models have no output rate). A model whose catalog prices are
//   empty is free (e.g. moderation) -> all zero. A model priced only in other
//   units (audio hours, requests...) has no token price -> undefined.
//   Conditional prices (price changes on a start date, time-of-day windows)
//   are resolved for `at` (default: now) by the catalog itself.
//   Tiered prices (long-context tiers, e.g. Gemini above 128k/200k prompt
//   tokens, gpt-5.4 above 272k) are reduced to their BASE tier: requests that
//   exceed the threshold are under-estimated by the tier premium.

import { calcPrice, findProvider, type MatchLogic, type ModelInfo, type ModelPrice, type PriceCalculation } from '@pydantic/genai-prices'
import type { PriceEntry } from './compute.js'

export type { PriceEntry } from './compute.js'

export interface CatalogEntry {
  providerType: string
  model: string
  price: PriceEntry
}

const CATALOG_PROVIDERS: Record<string, readonly string[]> = {
  openai: ['openai'],
  azure: ['azure', 'openai'],
  anthropic: ['anthropic'],
  gemini: ['google'],
}

/** Provider types catalogEntries() lists, in order. */
export const CATALOG_PROVIDER_TYPES = Object.keys(CATALOG_PROVIDERS)

function normaliseModel(providerType: string, model: string): string {
  const m = model.trim()
  return providerType === 'gemini' ? m.replace(/^models\//, '') : m
}

function calc(model: string, providerId: string, at: Date | undefined): PriceCalculation | null {
  try {
    return calcPrice({}, model, { providerId, timestamp: at })
  } catch {
    return null
  }
}

function baseRate(v: ModelPrice[string]): number | undefined {
  const n = typeof v === 'number' ? v : v && typeof v === 'object' ? v.base : undefined
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined
}

/** Catalog ModelPrice -> PriceEntry (base tier); undefined when not priced per token. */
export function toPriceEntry(p: ModelPrice): PriceEntry | undefined {
  if (Object.values(p).every((v) => v === undefined)) return { input: 0, output: 0 }
  const input = baseRate(p.input_mtok)
  const output = baseRate(p.output_mtok)
  if (input === undefined && output === undefined) return undefined
  const entry: PriceEntry = { input: input ?? 0, output: output ?? 0 }
  const cacheRead = baseRate(p.cache_read_mtok)
  const cacheWrite = baseRate(p.cache_write_mtok)
  if (cacheRead !== undefined) entry.cacheRead = cacheRead
  if (cacheWrite !== undefined) entry.cacheWrite = cacheWrite
  return entry
}

// Resolution cache: the catalog's matching costs ~40 µs per call. Misses are
// cached too. Models whose price depends on the date/time are re-resolved on
// every call (against the cached provider id) so a long-running process picks
// up a scheduled price change.
interface Resolved {
  providerId: string
  price: PriceEntry | undefined
  timeDependent: boolean
}
const MAX_CACHE = 5000
const cache = new Map<string, Resolved | null>()

function resolve(providerIds: readonly string[], model: string, at: Date | undefined): Resolved | null {
  for (const providerId of providerIds) {
    const r = calc(model, providerId, at)
    if (r) return { providerId, price: toPriceEntry(r.model_price), timeDependent: Array.isArray(r.model.prices) }
  }
  return null
}

/** Drops cached lookups (e.g. after the catalog data was replaced). */
export function clearCatalogCache(): void {
  cache.clear()
}

/**
 * Price of `upstreamModel` on a provider of type `providerType`, USD per 1M
 * tokens, at time `at` (default now); undefined when the catalog has no token
 * price for it.
 */
export function lookupCatalogPrice(providerType: string, upstreamModel: string, at?: Date): PriceEntry | undefined {
  const providerIds = CATALOG_PROVIDERS[providerType]
  if (!providerIds || typeof upstreamModel !== 'string') return undefined
  const model = normaliseModel(providerType, upstreamModel)
  if (!model) return undefined
  const when = at instanceof Date && !Number.isNaN(at.getTime()) ? at : undefined

  const key = `${providerType}\u0000${model}`
  let hit = cache.get(key)
  if (hit === undefined) {
    hit = resolve(providerIds, model, when)
    if (cache.size >= MAX_CACHE) cache.clear()
    cache.set(key, hit)
    return hit?.price && { ...hit.price }
  }
  if (!hit) return undefined
  if (hit.timeDependent) {
    const r = calc(model, hit.providerId, when)
    return r ? toPriceEntry(r.model_price) : undefined
  }
  return hit.price && { ...hit.price }
}

function equalsLiterals(match: MatchLogic, out: string[]): void {
  if ('equals' in match) out.push(match.equals)
  else if ('or' in match) for (const m of match.or) equalsLiterals(m, out)
}

/**
 * Every (provider type, model id, current price) the catalog knows for the
 * providers we support, for seeding the price table. Model ids are each
 * catalog model's id plus the literal ids its match rule lists (dated
 * snapshots, aliases), keeping only ids that lookupCatalogPrice() resolves to
 * that same catalog model, so the table and live lookups agree. Azure lists the
 * catalog's Azure models only (lookups still fall back to OpenAI's).
 */
export function catalogEntries(at: Date = new Date()): CatalogEntry[] {
  const out: CatalogEntry[] = []
  for (const providerType of CATALOG_PROVIDER_TYPES) {
    const providerId = CATALOG_PROVIDERS[providerType]![0]!
    const provider = findProvider({ providerId })
    if (!provider) continue
    const seen = new Set<string>()
    for (const info of provider.models as ModelInfo[]) {
      const ids: string[] = [info.id]
      equalsLiterals(info.match, ids)
      for (const id of ids) {
        const key = id.toLowerCase()
        if (seen.has(key)) continue
        const r = calc(id, providerId, at)
        if (!r || r.model !== info) continue
        const price = toPriceEntry(r.model_price)
        if (!price) continue
        seen.add(key)
        out.push({ providerType, model: id, price })
      }
    }
  }
  return out.sort((a, b) => a.providerType.localeCompare(b.providerType) || a.model.localeCompare(b.model))
}
