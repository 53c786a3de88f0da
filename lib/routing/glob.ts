// Glob patterns for model names: `*` any run of characters, `?` one character.
const cache = new Map<string, RegExp>()

export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern)
  if (!re) {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
    re = new RegExp(`^${body}$`)
    if (cache.size > 1000) cache.clear()
    cache.set(pattern, re)
  }
  return re
}

export function globMatch(pattern: string, value: string): boolean {
  return pattern.includes('*') || pattern.includes('?') ? globToRegExp(pattern).test(value) : pattern === value
}
