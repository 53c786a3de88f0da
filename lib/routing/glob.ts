// Glob patterns for model names, rules and key allow-lists.

export type GlobMatcher = (value: string) => boolean

/** Maximum number of compiled patterns kept; the oldest is evicted first. */
export const GLOB_CACHE_MAX = 1000

/** Compiled matchers by pattern (insertion ordered, bounded by GLOB_CACHE_MAX). */
export const globCache = new Map<string, GlobMatcher>()

/**
 * Compiles a glob: `*` matches any run of characters (empty included), `?`
 * exactly one character (code point), everything else itself. Case-sensitive,
 * anchored at both ends, no escaping (`*` and `?` are always wildcards).
 * Matching is iterative with a single backtrack point: O(pattern x value)
 * worst case, no regex, so no catastrophic backtracking on hostile patterns.
 */
export function compileGlob(pattern: string): GlobMatcher {
  const cached = globCache.get(pattern)
  if (cached) return cached
  let matcher: GlobMatcher
  if (!pattern.includes('*') && !pattern.includes('?')) {
    matcher = (value) => value === pattern
  } else if (pattern === '*') {
    matcher = () => true
  } else {
    const pat = Array.from(pattern)
    matcher = (value) => {
      const val = Array.from(value)
      let p = 0
      let v = 0
      let star = -1
      let mark = 0
      while (v < val.length) {
        if (p < pat.length && pat[p] === '*') {
          star = p++
          mark = v
        } else if (p < pat.length && (pat[p] === '?' || pat[p] === val[v])) {
          p++
          v++
        } else if (star !== -1) {
          p = star + 1
          v = ++mark
        } else {
          return false
        }
      }
      while (p < pat.length && pat[p] === '*') p++
      return p === pat.length
    }
  }
  if (globCache.size >= GLOB_CACHE_MAX) {
    const oldest = globCache.keys().next().value
    if (oldest !== undefined) globCache.delete(oldest)
  }
  globCache.set(pattern, matcher)
  return matcher
}

export function globMatch(pattern: string, value: string): boolean {
  return compileGlob(pattern)(value)
}

