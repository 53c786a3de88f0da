// Tokens per minute per key, reserved at admission and settled after.
//
//  1. reserve: check-and-add the request's estimate in one atomic step
//     (WindowCounter.reserve), so N concurrent requests see each other's
//     estimates and cannot get N times the limit between them;
//  2. settle, once the outcome is known: add (actual - estimate) to the same
//     minute, which may be negative (a failed request used nothing; most
//     answers are shorter than max_tokens).
//
// Windows are clock minutes. A request settled after its minute is over has
// nothing to give back (that window is gone); only what it used beyond its
// estimate is counted, in the current minute, so an under-estimate is never free.
import { minuteWindow } from './periods.js'
import type { WindowCounter } from './window-counter.js'

export interface TokenReservation {
  key: string
  /** Tokens reserved. */
  amount: number
  /** Epoch ms of the reservation. */
  at: number
}

export type ReserveTokensResult =
  | { ok: true; reservation: TokenReservation; total: number }
  | { ok: false; total: number }

export async function reserveTokens(counter: WindowCounter, key: string, amount: number, limit: number, now: number): Promise<ReserveTokensResult> {
  const n = Math.max(0, Math.round(amount))
  const r = await counter.reserve(key, n, limit, now)
  return r.ok ? { ok: true, reservation: { key, amount: n, at: now }, total: r.total } : { ok: false, total: r.total }
}

/** What to add to the current window when a reservation settles at `actual` tokens. */
export function settlementDelta(reservation: TokenReservation, actual: number, now: number): number {
  const used = Number.isFinite(actual) && actual > 0 ? Math.round(actual) : 0
  const diff = used - reservation.amount
  if (minuteWindow(now) === minuteWindow(reservation.at)) return diff
  return diff > 0 ? diff : 0
}

export async function settleTokens(counter: WindowCounter, reservation: TokenReservation, actual: number, now: number): Promise<void> {
  const delta = settlementDelta(reservation, actual, now)
  if (delta !== 0) await counter.add(reservation.key, delta, now)
}
