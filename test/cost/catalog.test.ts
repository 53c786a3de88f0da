import { test } from 'tap'
import { findProvider, type ConditionalPrice, type ModelPrice } from '@pydantic/genai-prices'
import { catalogEntries, clearCatalogCache, lookupCatalogPrice, toPriceEntry } from '../../lib/cost/catalog.js'

/** The raw catalog record, read straight from the package data. */
function raw(providerId: string, modelId: string) {
  const m = findProvider({ providerId })?.models.find((x) => x.id === modelId)
  if (!m) throw new Error(`fixture: ${providerId}/${modelId} not in catalog`)
  return m
}
const flat = (providerId: string, modelId: string) => raw(providerId, modelId).prices as ModelPrice
const base = (v: ModelPrice[string]) => (typeof v === 'object' && v ? v.base : v)

test('gpt-4o-mini: known price, dated snapshot and case-insensitive ids', async (t) => {
  // OpenAI's list price, which the bundled catalog carries.
  t.same(lookupCatalogPrice('openai', 'gpt-4o-mini'), { input: 0.15, output: 0.6, cacheRead: 0.075 })
  t.same(lookupCatalogPrice('openai', 'gpt-4o-mini-2024-07-18'), { input: 0.15, output: 0.6, cacheRead: 0.075 })
  t.same(lookupCatalogPrice('openai', 'GPT-4o-Mini'), { input: 0.15, output: 0.6, cacheRead: 0.075 })
  const p = flat('openai', 'gpt-4o')
  t.same(lookupCatalogPrice('openai', 'gpt-4o-2024-08-06'), { input: p.input_mtok, output: p.output_mtok, cacheRead: p.cache_read_mtok })
})

test('anthropic: claude-3-5-haiku snapshot with cache read and write rates', async (t) => {
  const p = flat('anthropic', 'claude-3-5-haiku-latest')
  const expected = { input: p.input_mtok, output: p.output_mtok, cacheRead: p.cache_read_mtok, cacheWrite: p.cache_write_mtok }
  t.same(lookupCatalogPrice('anthropic', 'claude-3-5-haiku-20241022'), expected)
  t.ok(typeof expected.cacheWrite === 'number' && expected.cacheWrite !== p.cache_write_1h_mtok, 'uses the 5-minute write rate')
})

test('gemini maps to google; tiered prices take the base tier; models/ prefix', async (t) => {
  const tiered = flat('google', 'gemini-1.5-flash')
  t.equal(typeof tiered.input_mtok, 'object', 'fixture is tiered')
  const got = lookupCatalogPrice('gemini', 'gemini-1.5-flash')
  t.same(got, { input: base(tiered.input_mtok), output: base(tiered.output_mtok), cacheRead: base(tiered.cache_read_mtok) })
  const tierPrice = (tiered.input_mtok as { tiers: Array<{ price: number }> }).tiers[0]!.price
  t.not(got?.input, tierPrice)

  const f2 = flat('google', 'gemini-2.0-flash')
  const expected2 = { input: f2.input_mtok, output: f2.output_mtok, cacheRead: f2.cache_read_mtok }
  t.same(lookupCatalogPrice('gemini', 'gemini-2.0-flash'), expected2)
  t.same(lookupCatalogPrice('gemini', 'models/gemini-2.0-flash-001'), expected2)
  const f25 = flat('google', 'gemini-2.5-flash')
  t.equal(lookupCatalogPrice('gemini', 'models/gemini-2.5-flash')?.input, f25.input_mtok)
  // Our provider type is 'gemini', not the catalog's 'google'.
  t.equal(lookupCatalogPrice('google', 'gemini-2.0-flash'), undefined)
})

test('conditional prices resolve for the given date', async (t) => {
  const o3 = raw('openai', 'o3').prices as ConditionalPrice[]
  t.ok(Array.isArray(o3) && o3.length === 2 && o3[1]!.constraint?.type === 'start_date', 'fixture has a dated price change')
  const changeDate = new Date((o3[1]!.constraint as { start_date: string }).start_date)
  const before = new Date(changeDate.getTime() - 86_400_000)
  const after = new Date(changeDate.getTime() + 86_400_000)
  t.equal(lookupCatalogPrice('openai', 'o3', before)?.input, o3[0]!.prices.input_mtok)
  t.equal(lookupCatalogPrice('openai', 'o3', after)?.input, o3[1]!.prices.input_mtok)
  t.not(o3[0]!.prices.input_mtok, o3[1]!.prices.input_mtok)
  // The cache must not pin the first date's answer.
  t.equal(lookupCatalogPrice('openai', 'o3', before)?.output, o3[0]!.prices.output_mtok)
})

test('azure: own catalog models, then OpenAI fallback', async (t) => {
  const phi = flat('azure', 'phi-4')
  t.same(lookupCatalogPrice('azure', 'phi-4'), { input: phi.input_mtok, output: phi.output_mtok })
  t.same(lookupCatalogPrice('azure', 'gpt-4o-mini'), lookupCatalogPrice('openai', 'gpt-4o-mini'))
  t.equal(lookupCatalogPrice('openai', 'phi-4'), undefined)
})

test('unknown models, providers and non-token prices', async (t) => {
  t.equal(lookupCatalogPrice('openai', 'definitely-not-a-model-xyz'), undefined)
  t.equal(lookupCatalogPrice('openai', 'definitely-not-a-model-xyz'), undefined, 'cached miss')
  t.equal(lookupCatalogPrice('anthropic', 'gpt-4o'), undefined)
  t.equal(lookupCatalogPrice('mock', 'gpt-4o-mini'), undefined)
  t.equal(lookupCatalogPrice('bedrock', 'gpt-4o-mini'), undefined)
  t.equal(lookupCatalogPrice('openai', ''), undefined)
  t.equal(lookupCatalogPrice('openai', 'whisper-1'), undefined, 'priced per audio hour only')
  t.same(lookupCatalogPrice('openai', 'omni-moderation-latest'), { input: 0, output: 0 }, 'catalog lists no charges')
  const emb = flat('openai', 'text-embedding-3-small')
  t.same(lookupCatalogPrice('openai', 'text-embedding-3-small'), { input: emb.input_mtok, output: 0 })
})

test('returned entries are copies: mutating one does not poison the cache', async (t) => {
  clearCatalogCache()
  const a = lookupCatalogPrice('openai', 'gpt-4o-mini')!
  a.input = 999
  t.equal(lookupCatalogPrice('openai', 'gpt-4o-mini')?.input, 0.15)
})

test('toPriceEntry conversion rules', async (t) => {
  t.same(toPriceEntry({ input_mtok: 1, output_mtok: 2, cache_read_mtok: 0.5, cache_write_mtok: 1.25, cache_write_1h_mtok: 2 }), {
    input: 1, output: 2, cacheRead: 0.5, cacheWrite: 1.25,
  })
  t.same(toPriceEntry({ input_mtok: { base: 3, tiers: [{ start: 200000, price: 6 }] } as never, output_mtok: 15 }), { input: 3, output: 15 })
  t.same(toPriceEntry({}), { input: 0, output: 0 })
  t.equal(toPriceEntry({ audio_hours: 0.36 }), undefined)
  t.same(toPriceEntry({ output_mtok: 4 }), { input: 0, output: 4 })
})

test('catalogEntries lists our providers, consistent with lookups', async (t) => {
  const entries = catalogEntries()
  const types = new Set(entries.map((e) => e.providerType))
  t.same([...types].sort(), ['anthropic', 'azure', 'gemini', 'openai'])
  const find = (pt: string, m: string) => entries.find((e) => e.providerType === pt && e.model === m)
  t.same(find('openai', 'gpt-4o-mini')?.price, { input: 0.15, output: 0.6, cacheRead: 0.075 })
  t.ok(find('openai', 'gpt-4o-2024-08-06'), 'dated aliases from match rules are listed')
  t.ok(find('anthropic', 'claude-3-5-haiku-latest'))
  t.ok(find('gemini', 'gemini-2.0-flash'))
  t.ok(find('azure', 'phi-4'))
  t.notOk(find('openai', 'whisper-1'), 'non-token prices are skipped')
  const keys = entries.map((e) => `${e.providerType}/${e.model.toLowerCase()}`)
  t.equal(new Set(keys).size, keys.length, 'no duplicates')

  let bad = 0
  for (const e of entries) {
    const ok = [e.price.input, e.price.output, e.price.cacheRead ?? 0, e.price.cacheWrite ?? 0].every((n) => Number.isFinite(n) && n >= 0)
    if (!ok || JSON.stringify(lookupCatalogPrice(e.providerType, e.model)) !== JSON.stringify(e.price)) bad++
  }
  t.equal(bad, 0, 'every entry is valid and agrees with lookupCatalogPrice')
  t.ok(entries.length > 100, `${entries.length} entries`)
})
