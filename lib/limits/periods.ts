// UTC calendar periods of budgets and the fixed one-minute windows of the
// token counters. Period ids are strings so every store keys them the same:
// "d:2025-03-31" for a day, "m:2025-03" for a month.

export type BudgetWindow = 'daily' | 'monthly'

export const MINUTE_MS = 60_000

const pad = (n: number) => String(n).padStart(2, '0')

export function dayPeriod(now: number | Date): string {
  const d = new Date(now)
  return `d:${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
}

export function monthPeriod(now: number | Date): string {
  const d = new Date(now)
  return `m:${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`
}

export function periodOf(window: BudgetWindow, now: number | Date): string {
  return window === 'daily' ? dayPeriod(now) : monthPeriod(now)
}

export function startOfUtcDay(now: number | Date): Date {
  const d = new Date(now)
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
}

export function startOfUtcMonth(now: number | Date): Date {
  const d = new Date(now)
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1))
}

/** Milliseconds until the period containing `now` ends. */
export function msUntilPeriodEnd(window: BudgetWindow, now: number): number {
  const d = new Date(now)
  const end =
    window === 'daily'
      ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
      : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
  return end - now
}

/** The window of a period id ("d:..." or "m:..."). */
export function windowOfPeriod(period: string): BudgetWindow {
  return period.startsWith('d:') ? 'daily' : 'monthly'
}

/** Index of the one-minute window containing `now`. */
export function minuteWindow(now: number): number {
  return Math.floor(now / MINUTE_MS)
}

/** Seconds (at least 1) until the current one-minute window ends. */
export function secondsToNextMinute(now: number): number {
  return Math.max(1, Math.ceil((MINUTE_MS - (now % MINUTE_MS)) / 1000))
}
