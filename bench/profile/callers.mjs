// usage: node callers.mjs file.cpuprofile regex  -> stacks (top 8 frames) leading to matching frames, weighted by self+children time
import { readFileSync } from 'node:fs'
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const re = new RegExp(process.argv[3])
const byId = new Map(p.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const t = new Map()
const skip = Number(process.env.SKIP_S ?? 0) * 1e6
let el = 0
for (let i = 0; i < p.samples.length; i++) { el += p.timeDeltas[i] ?? 0; if (el < skip) continue; t.set(p.samples[i], (t.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0)) }
let total = 0; for (const v of t.values()) total += v
const name = (n) => `${n.callFrame.functionName || '(anon)'}@${(n.callFrame.url.split('/').slice(-2).join('/'))}:${n.callFrame.lineNumber + 1}`
const agg = new Map()
for (const [id, v] of t) {
  // find the first matching ancestor (or self)
  let cur = id, hit
  while (cur !== undefined) { const n = byId.get(cur); if (re.test(name(n))) { hit = cur; break } cur = parent.get(cur) }
  if (hit === undefined) continue
  const chain = []; cur = hit
  while (cur !== undefined && chain.length < 9) { chain.push(name(byId.get(cur))); cur = parent.get(cur) }
  const k = chain.join(' < ')
  agg.set(k, (agg.get(k) ?? 0) + v)
}
for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${(100 * v / total).toFixed(2)}%  ${k}\n`)
