// Per-attempt deadlines, enforced with one AbortController per attempt.
import type { TimeoutsConfig } from '../config/gateway-config.js'
import type { CancelSignal } from './cancel.js'

export interface Timeouts {
  connectMs: number
  /** Until the response headers of a non-streamed request. */
  firstByteMs: number
  /** Until the first body bytes of a streamed request. */
  streamFirstByteMs: number
  /** The whole attempt, streams included. */
  totalMs: number
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  connectMs: 10_000,
  firstByteMs: 300_000,
  streamFirstByteMs: 60_000,
  totalMs: 600_000,
}

/** Most specific wins: model, then provider, then global, then defaults. */
export function mergeTimeouts(...layers: Array<TimeoutsConfig | undefined>): Timeouts {
  const out = { ...DEFAULT_TIMEOUTS }
  for (const layer of layers) {
    if (!layer) continue
    for (const k of Object.keys(out) as Array<keyof Timeouts>) {
      const v = layer[k]
      if (typeof v === 'number') out[k] = v
    }
  }
  return out
}

export type AbortReason = 'first_byte_timeout' | 'total_timeout' | 'client_closed'

/** An attempt's abort signal, fed by the client's signal and the deadlines. */
export class AttemptDeadline {
  readonly controller = new AbortController()
  reason: AbortReason | undefined
  private firstByteTimer: NodeJS.Timeout | undefined
  private totalTimer: NodeJS.Timeout | undefined
  private readonly onClientAbort = () => this.abort('client_closed')

  constructor(private readonly client: CancelSignal | undefined, firstByteMs: number, totalMs: number) {
    if (client?.aborted) {
      // No timers for an attempt that is over before it starts (they would hold it until totalMs).
      this.abort('client_closed')
      return
    }
    client?.addEventListener('abort', this.onClientAbort, { once: true })
    this.firstByteTimer = setTimeout(() => this.abort('first_byte_timeout'), firstByteMs)
    this.totalTimer = setTimeout(() => this.abort('total_timeout'), totalMs)
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  firstByte(): void {
    clearTimeout(this.firstByteTimer)
    this.firstByteTimer = undefined
  }

  abort(reason: AbortReason): void {
    if (this.reason) return
    this.reason = reason
    this.controller.abort(new Error(reason))
    this.dispose()
  }

  dispose(): void {
    clearTimeout(this.firstByteTimer)
    clearTimeout(this.totalTimer)
    this.firstByteTimer = this.totalTimer = undefined
    this.client?.removeEventListener('abort', this.onClientAbort)
  }
}
