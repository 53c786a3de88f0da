import { Session } from 'node:inspector'
import { writeFileSync } from 'node:fs'
const s = new Session(); s.connect()
let on = false
process.on('SIGWINCH', () => {
  if (!on) { on = true; s.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false }, (e) => process.stderr.write(`sampling ${e ?? 'on'}\n`)) }
  else s.post('HeapProfiler.stopSampling', (e, r) => { writeFileSync(process.env.ALLOC_OUT, JSON.stringify(r.profile)); process.stderr.write(`wrote ${e ?? ''}\n`); on = false })
})
