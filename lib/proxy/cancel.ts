// A request's cancellation as the pipeline uses it: `aborted`, and one-shot
// 'abort' listeners. An AbortSignal is one (the in-process modes take the
// caller's); an HTTP request gets a ClientGone, a plain object, instead of
// an AbortController whose EventTarget set-up alone cost 0.9 % of the request
// thread (issue 14's profile). Each attempt still has its own
// AbortController (lib/proxy/timeouts.ts), since undici takes an AbortSignal.

export interface CancelSignal {
  readonly aborted: boolean
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: 'abort', listener: () => void): void
}

/** Aborted once, when the client goes away before its answer is finished. */
export class ClientGone implements CancelSignal {
  aborted = false
  private listeners: Array<() => void> | undefined

  /** Listeners are called once, at the abort; one added after it never is (as with an AbortSignal). */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) (this.listeners ??= []).push(listener)
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1
    if (i >= 0) this.listeners!.splice(i, 1)
  }

  abort(): void {
    if (this.aborted) return
    this.aborted = true
    const listeners = this.listeners
    this.listeners = undefined
    if (listeners) for (const listener of listeners) listener()
  }
}
