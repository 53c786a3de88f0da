// How figures read on the dashboard.

const nf = new Intl.NumberFormat('en-US')

export const num = (v) => (v === null || v === undefined ? '–' : nf.format(v))

export function ms(v) {
  if (v === null || v === undefined) return '–'
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`
}

export function pct(v) {
  if (v === null || v === undefined) return '–'
  return `${(v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1)} %`
}

export function rate(v) {
  if (v === null || v === undefined) return '–'
  return v >= 10 ? v.toFixed(0) : v.toFixed(2)
}

/** Dollars with enough digits for the tiny costs of single requests. */
export function usd(v) {
  if (v === null || v === undefined) return '–'
  if (v === 0) return '$0.00'
  if (Math.abs(v) >= 1) return `$${v.toFixed(2)}`
  return `$${v.toPrecision(3)}`
}

export function time(iso) {
  if (!iso) return '–'
  const d = new Date(iso)
  return d.toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' })
}

export const clock = (d = new Date()) => d.toLocaleTimeString('en-GB')
