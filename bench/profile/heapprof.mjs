// node heapprof.mjs FILE.heapprofile : self allocation by function and by file
import { readFileSync } from 'node:fs'
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const byFn = new Map(), byFile = new Map(); let total = 0
function walk(n, stack) {
  const cf = n.callFrame; const self = (n.selfSize ?? 0)
  const u = cf.url.replace(/^file:\/\/\/work\/main\//, '')
  const k = `${cf.functionName || '(anon)'} ${u}:${cf.lineNumber + 1}`
  total += self
  byFn.set(k, (byFn.get(k) ?? 0) + self)
  const file = u.includes('node_modules/') ? u.match(/node_modules\/((@[^/]+\/)?[^/]+)/)[1] : u
  byFile.set(file, (byFile.get(file) ?? 0) + self)
  for (const c of n.children ?? []) walk(c, stack)
}
walk(p.head)
const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(100 * v / total).toFixed(1).padStart(5)}% ${(v / 1024).toFixed(0).padStart(7)}K ${k}`).join('\n')
console.log('total sampled', (total / 1048576).toFixed(1), 'MB\n-- by file\n' + top(byFile, 30) + '\n-- by function\n' + top(byFn, 45))
