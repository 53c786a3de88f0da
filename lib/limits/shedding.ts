// When to shed load for event-loop lag. One long pause (a tokenizer loading,
// a large JSON parse, a GC) must not refuse traffic; a loop that keeps
// lagging must, before every request stalls. So the mean event-loop delay is
// sampled once per interval and pressure is declared only after
// `consecutive` samples in a row above the limit.
export const DEFAULT_CONSECUTIVE_SAMPLES = 3

export class SustainedPressure {
  private streak = 0

  constructor(private readonly limitMs: number, private readonly consecutive = DEFAULT_CONSECUTIVE_SAMPLES) {}

  /** Records one sample; true while the last `consecutive` samples were all above the limit. */
  observe(delayMs: number): boolean {
    if (this.limitMs <= 0) return false
    this.streak = delayMs > this.limitMs ? this.streak + 1 : 0
    return this.streak >= this.consecutive
  }
}
