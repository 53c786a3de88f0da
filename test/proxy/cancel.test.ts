import { test } from 'tap'
import { ClientGone } from '../../lib/proxy/cancel.js'
import { AttemptDeadline } from '../../lib/proxy/timeouts.js'
import { sleep } from '../../lib/resilience/backoff.js'

test('ClientGone: listeners run once at the abort; a removed one and one added after never do', async (t) => {
  const gone = new ClientGone()
  const calls: string[] = []
  const a = () => calls.push('a')
  const b = () => calls.push('b')
  gone.addEventListener('abort', a, { once: true })
  gone.addEventListener('abort', b)
  gone.removeEventListener('abort', b)
  t.notOk(gone.aborted)
  gone.abort()
  gone.abort()
  gone.addEventListener('abort', () => calls.push('late'))
  t.ok(gone.aborted)
  t.same(calls, ['a'])
})

test('an attempt deadline and a retry wait end when the client goes away', async (t) => {
  const gone = new ClientGone()
  const deadline = new AttemptDeadline(gone, 60_000, 60_000)
  const waiting = sleep(60_000, gone)
  gone.abort()
  t.equal(deadline.reason, 'client_closed')
  t.ok(deadline.signal.aborted, "the attempt's own AbortSignal (what undici gets) is aborted")
  t.equal(await waiting, false, 'the wait ends early')

  const before = new ClientGone()
  before.abort()
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  const timersBefore = timers()
  t.equal(new AttemptDeadline(before, 60_000, 60_000).reason, 'client_closed', 'a client gone before the attempt')
  t.equal(timers(), timersBefore, 'and no timer is left holding it')
  t.equal(await sleep(60_000, before), false)

  const kept = new ClientGone()
  const d = new AttemptDeadline(kept, 60_000, 60_000)
  d.dispose()
  kept.abort()
  t.equal(d.reason, undefined, 'a disposed deadline no longer listens')
})
