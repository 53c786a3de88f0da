/** A uniform random subset of at most `max` items (reservoir sampling). */
export function downsample<T>(items: T[], max: number, random: () => number = Math.random): T[] {
  if (items.length <= max) return items
  const out = items.slice(0, max)
  for (let i = max; i < items.length; i++) {
    const j = Math.floor(random() * (i + 1))
    if (j < max) out[j] = items[i]!
  }
  return out
}
