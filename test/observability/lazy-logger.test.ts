import { test } from 'tap'
import { PassThrough } from 'node:stream'
import { pino } from 'pino'
import { LazyChildLogger } from '../../lib/observability/lazy-logger.js'
import { REDACT } from '../../app.js'

function logger(level: string) {
  const out = new PassThrough()
  const lines: Array<Record<string, unknown>> = []
  out.on('data', (b: Buffer) => {
    for (const l of String(b).split('\n')) if (l) lines.push(JSON.parse(l))
  })
  return { log: pino({ level, redact: { paths: REDACT, censor: '[redacted]' } }, out), lines }
}

test('no child is made for lines below the level; the first written line has the bindings and the redaction', async (t) => {
  const { log, lines } = logger('warn')
  const lazy = new LazyChildLogger(log, { reqId: 'req_1' }, {})
  lazy.info({ a: 1 }, 'dropped')
  lazy.debug('dropped too')
  t.notOk(lazy.made, 'nothing written, no child made')
  t.equal(lazy.level, 'warn')
  t.notOk(lazy.isLevelEnabled('info'))
  lazy.error({ headers: { authorization: 'Bearer sk-secret-value' } }, 'boom')
  t.ok(lazy.made)
  await new Promise((r) => setImmediate(r))
  t.equal(lines.length, 1)
  t.equal(lines[0]!.reqId, 'req_1')
  t.equal(lines[0]!.msg, 'boom')
  t.same(lines[0]!.headers, { authorization: '[redacted]' }, 'the secret is redacted as by a pino child')
  t.notOk(JSON.stringify(lines).includes('sk-secret-value'))
})

test('child, bindings and level go to the real child', async (t) => {
  const { log, lines } = logger('info')
  const lazy = new LazyChildLogger(log, { reqId: 'req_2' }, {})
  t.same(lazy.bindings(), { reqId: 'req_2' })
  lazy.child({ part: 'x' }).info('from a grandchild')
  lazy.level = 'error'
  lazy.warn('dropped by the new level')
  await new Promise((r) => setImmediate(r))
  t.equal(lines.length, 1)
  t.equal(lines[0]!.reqId, 'req_2')
  t.equal(lines[0]!.part, 'x')
})
