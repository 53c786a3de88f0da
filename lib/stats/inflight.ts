// In-flight request counts per deployment, read by the least-busy strategy.

export class InFlightCounter {
  private readonly counts = new Map<string, number>()

  /**
   * Counts one request on `id` and returns its release function. Releasing
   * more than once is a no-op, so it is safe to call from both the success and
   * the error path.
   */
  acquire(id: string): () => void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const n = (this.counts.get(id) ?? 0) - 1
      if (n > 0) this.counts.set(id, n)
      else this.counts.delete(id)
    }
  }

  get(id: string): number {
    return this.counts.get(id) ?? 0
  }

  /** Sum over every deployment. */
  total(): number {
    let t = 0
    for (const n of this.counts.values()) t += n
    return t
  }

  /** Non-zero counts by deployment id. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts)
  }
}
