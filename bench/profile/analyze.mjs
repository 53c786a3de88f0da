// usage: node analyze.mjs file.cpuprofile [topN]
import { readFileSync } from 'node:fs'
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const top = Number(process.argv[3] ?? 40)
const byId = new Map(p.nodes.map((n) => [n.id, n]))
const self = new Map()
const dt = p.timeDeltas
const counts = new Map()
const skip = Number(process.env.SKIP_S ?? 0) * 1e6
let el = 0
for (let i = 0; i < p.samples.length; i++) { el += dt[i] ?? 0; if (el < skip) continue; counts.set(p.samples[i], (counts.get(p.samples[i]) ?? 0) + (dt[i] ?? 0)) }
let total = 0
const byFn = new Map(), byFile = new Map()
const cat = new Map()
const parent = new Map()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
function category(n) {
  const u = n.callFrame.url
  const f = n.callFrame.functionName
  if (f === '(garbage collector)') return 'gc'
  if (f === '(idle)') return 'idle'
  if (f === '(program)') return 'program'
  if (!u) return 'native:' + f
  if (u.includes('node_modules/')) { const m = u.match(/node_modules\/((@[^/]+\/)?[^/]+)/); return 'dep:' + m[1] }
  if (u.startsWith('node:')) return 'node:' + u.slice(5).split('/')[0]
  const m = u.match(/dist\/(.*)$/); return 'app:' + (m ? m[1] : u)
}
for (const [id, t] of counts) {
  const n = byId.get(id); total += t
  const k = `${n.callFrame.functionName || '(anon)'} ${category(n)}:${n.callFrame.lineNumber + 1}`
  byFn.set(k, (byFn.get(k) ?? 0) + t)
  const c = category(n)
  byFile.set(c, (byFile.get(c) ?? 0) + t)
}
const idle = [...byFile].filter(([k]) => k === 'idle').reduce((a, [, v]) => a + v, 0)
const busy = total - idle
console.log(`total ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s`)
const pr = (m, title) => { console.log(`\n== ${title} (% of busy)`); for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) if (k !== 'idle' && !k.startsWith('(idle)')) console.log(`${(100 * v / busy).toFixed(2).padStart(6)}%  ${k}`) }
pr(byFile, 'self time by file/package')
pr(byFn, 'self time by function')
// inclusive time for app functions
const incl = new Map()
for (const [id, t] of counts) {
  const seen = new Set()
  let cur = id
  while (cur !== undefined) {
    const n = byId.get(cur)
    const k = `${n.callFrame.functionName || '(anon)'} ${category(n)}:${n.callFrame.lineNumber + 1}`
    if (!seen.has(k)) { incl.set(k, (incl.get(k) ?? 0) + t); seen.add(k) }
    cur = parent.get(cur)
  }
}
const inclApp = new Map([...incl].filter(([k]) => k.includes(' app:') || k.includes('dep:fastify ') || k.includes('dep:undici')))
pr(inclApp, 'inclusive, app + fastify + undici')
