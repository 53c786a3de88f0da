// RFC 4180 CSV: quoted when needed, CRLF line ends. A cell that a spreadsheet
// would run as a formula (=, +, -, @ first) is prefixed with a quote.

function cell(v) {
  if (v === null || v === undefined) return ''
  let s = String(v)
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/** columns: [{ label, value(row) }] */
export function toCsv(columns, rows) {
  const lines = [columns.map((c) => cell(c.label)).join(',')]
  for (const r of rows) lines.push(columns.map((c) => cell(c.value(r))).join(','))
  return `${lines.join('\r\n')}\r\n`
}
