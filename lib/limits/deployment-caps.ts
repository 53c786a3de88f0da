// Requests and tokens per minute per deployment (YAML deployments[].rpm/.tpm).
// A deployment at its cap is reported unavailable, so the router sends the
// request to another deployment before the provider's own 429 comes back.
//
// The router's availability check is synchronous, so it reads `seen`: the
// latest totals this instance knows, updated by its own increments (which
// return the shared total in Redis) and by refresh() before each request.
// Caps are soft: requests that pass the check at the same moment on several
// instances can overshoot a cap by the number in flight.
import { minuteWindow } from './periods.js'
import type { WindowCounter } from './window-counter.js'

export interface CappedDeployment {
  id: string
  rpm?: number
  tpm?: number
}

interface Seen {
  window: number
  requests: number
  tokens: number
}

export const capped = (d: CappedDeployment): boolean => d.rpm !== undefined || d.tpm !== undefined

export class DeploymentCaps {
  private readonly seen = new Map<string, Seen>()

  constructor(private readonly counter: WindowCounter, private readonly now: () => number = Date.now) {}

  private current(id: string): Seen {
    const window = minuteWindow(this.now())
    let s = this.seen.get(id)
    if (!s || s.window !== window) {
      s = { window, requests: 0, tokens: 0 }
      this.seen.set(id, s)
    }
    return s
  }

  /** The reason a deployment may not take a request now, if any. */
  unavailable(d: CappedDeployment): string | undefined {
    if (!capped(d)) return undefined
    const s = this.current(d.id)
    if (d.rpm !== undefined && s.requests >= d.rpm) return 'at rpm cap'
    if (d.tpm !== undefined && s.tokens >= d.tpm) return 'at tpm cap'
    return undefined
  }

  /** Counts one request sent to `d` (when it is capped). */
  async countRequest(d: CappedDeployment): Promise<void> {
    if (!capped(d)) return
    const s = this.current(d.id)
    s.requests++
    const total = await this.counter.add(`dep:${d.id}:rpm`, 1, this.now())
    const after = this.current(d.id)
    after.requests = Math.max(after.requests, total)
  }

  /** Counts the tokens a request to `d` used. */
  async countTokens(d: CappedDeployment, tokens: number): Promise<void> {
    if (!capped(d) || !(tokens > 0)) return
    const s = this.current(d.id)
    s.tokens += tokens
    const total = await this.counter.add(`dep:${d.id}:tpm`, tokens, this.now())
    const after = this.current(d.id)
    after.tokens = Math.max(after.tokens, total)
  }

  /** Reads the shared totals of these deployments (those with a cap). */
  async refresh(deployments: CappedDeployment[]): Promise<void> {
    const list = deployments.filter(capped)
    if (list.length === 0) return
    const now = this.now()
    const values = await this.counter.get(list.flatMap((d) => [`dep:${d.id}:rpm`, `dep:${d.id}:tpm`]), now)
    list.forEach((d, i) => {
      const s = this.current(d.id)
      s.requests = Math.max(s.requests, values[2 * i] ?? 0)
      s.tokens = Math.max(s.tokens, values[2 * i + 1] ?? 0)
    })
  }
}
