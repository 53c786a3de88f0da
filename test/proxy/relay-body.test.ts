import { test } from 'tap'
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import { ConsumerGoneError, pumpedBody, RelayBody, send } from '../../lib/proxy/relay-body.js'

test('the relay starts at the first read and its writes reach the reader in order', async (t) => {
  let started = 0
  const body = new RelayBody(async (b) => {
    started++
    for (const s of ['a', 'b', 'c']) await b.write(s)
    b.end()
  }, () => t.fail('not gone'))
  t.equal(started, 0, 'not started before anyone reads')
  let text = ''
  for await (const chunk of body) text += String(chunk)
  t.equal(started, 1)
  t.equal(text, 'abc')
})

test('a write past the high-water mark waits for the reader', async (t) => {
  let waited = false
  const body = new RelayBody(async (b) => {
    const w = b.write('x'.repeat(64))
    t.type(w, Promise, 'over the mark: the relay is told to wait')
    waited = true
    await w
    b.end()
  }, () => undefined, 16)
  body.resume()
  await once(body, 'end')
  t.ok(waited)
})

test('a consumer that goes away: onGone once, the next write throws an AbortError', async (t) => {
  let gone = 0
  let resumeRelay!: () => void
  const paused = new Promise<void>((r) => (resumeRelay = r))
  let thrown: unknown
  const done = new Promise<void>((resolve) => {
    const body = new RelayBody(async (b) => {
      b.write('first')
      await paused
      try {
        b.write('second')
      } catch (err) {
        thrown = err
      }
      resolve()
    }, () => gone++)
    body.once('data', () => {
      body.destroy()
      body.destroy()
      resumeRelay()
    })
  })
  await done
  t.equal(gone, 1)
  t.ok(thrown instanceof ConsumerGoneError)
  t.equal((thrown as Error).name, 'AbortError')
})

test('a body destroyed unread still runs its relay, which finds the consumer gone', async (t) => {
  let ran = false
  let gone = 0
  const finished = new Promise<void>((resolve) => {
    const body = new RelayBody(async (b) => {
      ran = true
      t.ok(b.gone, 'gone before the first write')
      t.throws(() => b.write('x'), { name: 'AbortError', message: 'the consumer of the stream went away' })
      resolve()
    }, () => gone++)
    body.destroy()
  })
  await finished
  t.ok(ran)
  t.equal(gone, 1)
})

test('the end of a finished stream is not taken for a consumer going away', async (t) => {
  let gone = 0
  const body = new RelayBody(async (b) => {
    await b.write('all')
    b.end()
  }, () => gone++)
  body.resume()
  await once(body, 'close')
  t.equal(gone, 0)
})

test("pumpedBody: the pump's writes, then the end; a consumer gone destroys the source while the pump waits on it", async (t) => {
  const upper = (source: PassThrough) =>
    pumpedBody(source, async (body) => {
      for await (const chunk of source) await send(body, String(chunk).toUpperCase())
    })

  const whole = new PassThrough()
  whole.end('ab')
  let text = ''
  for await (const chunk of upper(whole)) text += String(chunk)
  t.equal(text, 'AB', 'translated, and the body ended when the pump returned')

  const source = new PassThrough()
  const body = upper(source)
  source.write('x')
  const [first] = (await once(body, 'data')) as [Buffer]
  t.equal(String(first), 'X')
  // The pump now waits for the source's next chunk, which never comes: the consumer leaves.
  body.destroy()
  await once(source, 'close')
  t.ok(source.destroyed, "the source (the engine's relay) is destroyed at once, so it records the stream as abandoned")
})

test('pumpedBody: a pump that fails for another reason destroys the body with its error', async (t) => {
  const body = pumpedBody('x', async () => {
    throw new Error('translator broke')
  })
  body.resume()
  const [err] = (await once(body, 'error')) as [Error]
  t.equal(err.message, 'translator broke')
})
