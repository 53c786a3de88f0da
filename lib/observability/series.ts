// Counters and histograms for the per-request hot path, registered in a
// prom-client Registry (which does the exposition, default labels and
// content types) through its metric interface: { name, help, type,
// aggregator, get() }.
//
// Why not prom-client's own Counter/Histogram here: each of their
// observations validates the label object, hashes it into a string and
// looks buckets up by float-to-string keys: ~1-3 µs per call, and a request
// makes about a dozen (30 µs, over 10 % of the gateway's ~270 µs of CPU per
// request; see bench/observe-cost.ts). Here label values are positional, the
// series key is one join, and a bucket is an array index, found once per
// observation. What a scrape shows is the same text prom-client would write.

type LabelValue = string | number

interface MetricValue {
  value: number
  labels: Record<string, LabelValue>
  metricName?: string
}

interface MetricObject {
  name: string
  help: string
  type: 'counter' | 'histogram'
  values: MetricValue[]
  aggregator: 'sum'
}

const SEP = '\u0001'

function labelsOf(names: readonly string[], values: readonly LabelValue[]): Record<string, LabelValue> {
  const labels: Record<string, LabelValue> = {}
  for (let i = 0; i < names.length; i++) labels[names[i]!] = values[i] ?? ''
  return labels
}

export class LabelledCounter {
  readonly type = 'counter' as const
  readonly aggregator = 'sum' as const
  private readonly series = new Map<string, { labels: Record<string, LabelValue>; value: number }>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** Adds `by` (default 1; negative and non-finite amounts are ignored) to the series of these label values, in labelNames order. */
  inc(values: readonly LabelValue[], by = 1): void {
    if (!(by >= 0) || by === Infinity) return
    const key = values.join(SEP)
    const s = this.series.get(key)
    if (s) s.value += by
    else this.series.set(key, { labels: labelsOf(this.labelNames, values), value: by })
  }

  async get(): Promise<MetricObject> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.series.values()].map((s) => ({ value: s.value, labels: s.labels })),
    }
  }
}

interface HistogramSeries {
  labels: Record<string, LabelValue>
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is +Inf. */
  counts: number[]
  sum: number
  count: number
}

export class LabelledHistogram {
  readonly type = 'histogram' as const
  readonly aggregator = 'sum' as const
  private readonly series = new Map<string, HistogramSeries>()
  private readonly bounds: readonly number[]

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    this.bounds = [...buckets].sort((a, b) => a - b)
  }

  /** Records one observation (non-finite values are ignored) in the series of these label values. */
  observe(values: readonly LabelValue[], v: number): void {
    if (!Number.isFinite(v)) return
    const key = values.join(SEP)
    let s = this.series.get(key)
    if (!s) {
      s = { labels: labelsOf(this.labelNames, values), counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 }
      this.series.set(key, s)
    }
    // Upper bounds are inclusive (le), as in Prometheus.
    const b = this.bounds
    let lo = 0
    let hi = b.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (v <= b[mid]!) hi = mid
      else lo = mid + 1
    }
    s.counts[lo]!++
    s.sum += v
    s.count++
  }

  async get(): Promise<MetricObject> {
    const values: MetricValue[] = []
    const bucket = `${this.name}_bucket`
    for (const s of this.series.values()) {
      let cumulative = 0
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i]!
        values.push({ value: cumulative, labels: { ...s.labels, le: this.bounds[i]! }, metricName: bucket })
      }
      values.push({ value: s.count, labels: { ...s.labels, le: '+Inf' }, metricName: bucket })
      values.push({ value: s.sum, labels: s.labels, metricName: `${this.name}_sum` })
      values.push({ value: s.count, labels: s.labels, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}
