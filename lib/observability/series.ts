// Counters and histograms for the per-request hot path, registered in a
// prom-client Registry (which does the exposition, default labels and
// content types) through its metric interface: { name, help, type,
// aggregator, get(), getForPromString() }.
//
// Why not prom-client's own Counter/Histogram here: each of their
// observations validates the label object, hashes it into a string and
// looks buckets up by float-to-string keys. Measured with
// bench/series-cost.ts (the ~9 observations of one request, 20 models x 3
// deployments; see docs/readme/observability.md): prom-client 15 costs
// 20-30 µs of CPU per request with label objects and 15-22 µs with
// .labels(...), these classes 4-6 µs; that difference is 2-4 % of the
// gateway's whole CPU per request, against a budget of 5 % for metrics.
// Here label values are positional, the series key is one join, and a bucket
// is an array index, found once per observation. A scrape's text is byte for
// byte what prom-client writes (test/observability/metrics.test.ts), and as
// cheap: a series' labels are handed over as shared labels, which the
// registry formats once and caches.

type LabelValue = string | number

interface MetricValue {
  value: number
  labels: Record<string, LabelValue>
  metricName?: string
  /**
   * Labels the registry formats once per object and caches (prom-client's
   * text path, getForPromString): a series' own labels, so a scrape formats
   * only `le` per bucket.
   */
  sharedLabels?: Record<string, LabelValue>
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

  /** The text exposition's input: labels as shared labels, formatted once per series and cached by the registry. */
  async getForPromString(): Promise<MetricObject> {
    const values: MetricValue[] = []
    for (const s of this.series.values()) values.push({ value: s.value, labels: {}, sharedLabels: s.labels })
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
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

  /** As get(), for the text exposition: a series' labels are shared (formatted once and cached), only `le` varies. */
  async getForPromString(): Promise<MetricObject> {
    const values: MetricValue[] = []
    const bucket = `${this.name}_bucket`
    const sum = `${this.name}_sum`
    const count = `${this.name}_count`
    for (const s of this.series.values()) {
      let cumulative = 0
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i]!
        values.push({ value: cumulative, labels: { le: this.bounds[i]! }, sharedLabels: s.labels, metricName: bucket })
      }
      values.push({ value: s.count, labels: { le: '+Inf' }, sharedLabels: s.labels, metricName: bucket })
      values.push({ value: s.sum, labels: {}, sharedLabels: s.labels, metricName: sum })
      values.push({ value: s.count, labels: {}, sharedLabels: s.labels, metricName: count })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}
