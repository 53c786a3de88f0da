// Validation errors of the admin API name their place: "path: message",
// several joined with "; " (after a lead such as "The configuration is
// invalid: "). This splits them so each shows at its path.

const PATH = /^(\(root\)|stored (?:model|provider) "[^"]*"\S*|[^\s:;]+)$/

/** [{ path, message }] from an error message; path null for text that names none. */
export function splitProblems(message) {
  let text = String(message ?? '')
  const lead = /^The configuration is invalid: /.exec(text)
  if (lead) text = text.slice(lead[0].length)
  const out = []
  for (const part of text.split('; ')) {
    const i = part.indexOf(': ')
    const path = i > 0 ? part.slice(0, i) : ''
    if (PATH.test(path)) out.push({ path, message: part.slice(i + 2) })
    else if (out.length) out[out.length - 1].message += `; ${part}` // a "; " inside a message
    else out.push({ path: null, message: part })
  }
  return out
}
