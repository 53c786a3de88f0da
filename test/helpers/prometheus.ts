// Reads a /metrics scrape with parse-prometheus-text-format (a parser, not a
// regex), keeping every sample's labels, and sums samples by label.
import parsePrometheus from 'parse-prometheus-text-format'

export interface Sample {
  labels: Record<string, string>
  value: number
}
export interface Family {
  type: string
  samples: Sample[]
}

/**
 * Families by sample name. The parser merges the series of a labelled
 * histogram into one and drops their labels, so histograms are declared
 * untyped before parsing: their _bucket, _sum and _count series then come
 * back as plain samples, labels intact.
 */
export function parseScrape(text: string): Map<string, Family> {
  const types = new Map<string, string>()
  const untyped = text
    .split('\n')
    .map((line) => {
      const m = line.startsWith('# TYPE ') ? line.slice(7).split(' ') : undefined
      if (m) types.set(m[0]!, m[1]!)
      return m && m[1] === 'histogram' ? `# TYPE ${m[0]} untyped` : line
    })
    .join('\n')
  const out = new Map<string, Family>()
  for (const f of parsePrometheus(untyped) as Array<{ name: string; type: string; metrics: Array<{ labels?: Record<string, string>; value: string }> }>) {
    const family = out.get(f.name) ?? { type: types.get(f.name) ?? types.get(f.name.replace(/_(bucket|sum|count)$/, '')) ?? f.type.toLowerCase(), samples: [] }
    family.samples.push(...f.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) })))
    out.set(f.name, family)
  }
  return out
}

const matches = (labels: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => (labels[k] ?? '') === v)

/** The sum of the samples of `name` whose labels include `where` ('' = label absent). */
export function sumOf(scrape: Map<string, Family>, name: string, where: Record<string, string> = {}): number {
  return (scrape.get(name)?.samples ?? []).filter((s) => matches(s.labels, where)).reduce((a, s) => a + s.value, 0)
}

/** Distinct label sets (series) of every family, or of the named ones. */
export function seriesCount(scrape: Map<string, Family>, names?: readonly string[]): number {
  let n = 0
  for (const [name, f] of scrape) if (!names || names.includes(name)) n += f.samples.length
  return n
}
