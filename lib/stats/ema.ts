// Exponential moving average: value = alpha * x + (1 - alpha) * value.

/**
 * Default smoothing factor. With 0.2 the last 10 samples carry ~89% of the
 * weight (1 - 0.8^10), so the average follows a deployment whose latency
 * changes within about ten requests while smoothing single outliers.
 */
export const ALPHA = 0.2

export class Ema {
  readonly alpha: number
  /** Undefined until the first sample; the first sample is taken as is. */
  value?: number

  constructor(alpha: number = ALPHA, initial?: number) {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`EMA alpha must be in (0, 1], got ${alpha}`)
    this.alpha = alpha
    if (initial !== undefined && Number.isFinite(initial)) this.value = initial
  }

  /** Adds a sample and returns the new value. Non-finite samples are ignored. */
  update(x: number): number | undefined {
    if (!Number.isFinite(x)) return this.value
    this.value = this.value === undefined ? x : this.alpha * x + (1 - this.alpha) * this.value
    return this.value
  }
}
