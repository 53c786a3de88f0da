// Memoisation by string key for pure functions the request path calls with a
// handful of distinct values (a deployment's endpoint URL, a provider's base
// URL): parsing each on every request was about 1 % of the request thread
// (`new URL` in the engine and in the metrics observer). Bounded: the cache is
// emptied when it reaches `max` entries, so client-chosen values cannot grow
// it. Cached results are shared: return frozen or otherwise immutable values.

export function memoByString<T>(fn: (key: string) => T, max = 1024): (key: string) => T {
  const cache = new Map<string, T>()
  return (key: string): T => {
    const hit = cache.get(key)
    if (hit !== undefined || cache.has(key)) return hit as T
    const value = fn(key) // a throw is not cached
    if (cache.size >= max) cache.clear()
    cache.set(key, value)
    return value
  }
}
