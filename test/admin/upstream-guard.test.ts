// lib/security/upstream-guard.ts: which addresses admin-written providers may
// reach, checked at write time and on every connection (the address actually
// dialled, so a name that later resolves elsewhere is still refused).
import { test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { guardedLookup, isUpstreamBlocked, upstreamPolicy, upstreamProblems, type LookupFn } from '../../lib/security/upstream-guard.js'
import { Pools } from '../../lib/proxy/pools.js'

test('address ranges: only public unicast, unless allowed', async (t) => {
  const policy = upstreamPolicy()
  const refused: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fd00::1', 'uniqueLocal'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['64:ff9b::7f00:1', 'rfc6052'],
  ]
  for (const [address, range] of refused) t.equal(policy.addressRefusal(address), range, address)
  for (const address of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '[2606:4700::1111]']) t.equal(policy.addressRefusal(address), undefined, address)

  const allowed = upstreamPolicy('127.0.0.1, 10.20.0.0/16, ::ffff:192.168.7.0/120, ollama.internal, *.corp.example')
  t.equal(allowed.addressRefusal('127.0.0.1'), undefined)
  t.equal(allowed.addressRefusal('::ffff:127.0.0.1'), undefined, 'IPv4-mapped is judged as IPv4')
  t.equal(allowed.addressRefusal('127.0.0.2'), 'loopback', 'a bare address allows only itself')
  t.equal(allowed.addressRefusal('10.20.3.4'), undefined)
  t.equal(allowed.addressRefusal('10.21.0.1'), 'private')
  t.equal(allowed.addressRefusal('192.168.7.9'), undefined, 'IPv4-mapped ranges apply to IPv4')
  t.ok(allowed.hostAllowed('ollama.internal'))
  t.ok(allowed.hostAllowed('OLLAMA.internal.'))
  t.ok(allowed.hostAllowed('gpu1.corp.example'))
  t.notOk(allowed.hostAllowed('corp.example'), '*.x matches subdomains only')
  t.notOk(allowed.hostAllowed('evilcorp.example'))
})

test('write-time check: literal addresses and what names resolve to', async (t) => {
  const policy = upstreamPolicy()
  t.same(await upstreamProblems('http://169.254.169.254/latest', policy), ['169.254.169.254 is a link-local address'])
  t.same(await upstreamProblems('http://[::1]:8080/v1', policy), ['::1 is a loopback address'])
  t.same(await upstreamProblems('http://2130706433/v1', policy), ['127.0.0.1 is a loopback address'], 'URL parsing normalizes numeric hosts first')
  t.same(await upstreamProblems('http://localhost:1/v1', policy), ['localhost resolves to 127.0.0.1, a loopback address'], 'the system resolver')
  const lookup = async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }]
  t.same(await upstreamProblems('https://mixed.example/v1', policy, { lookup }), ['mixed.example resolves to 10.0.0.5, a private (RFC 1918) address'], 'every address counts')
  t.same(await upstreamProblems('https://api.example/v1', policy, { lookup: async () => [{ address: '93.184.216.34', family: 4 }] }), [])
  t.same(await upstreamProblems('https://nowhere.invalid/v1', policy, { lookup: async () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOTFOUND' })) }), [], 'unresolvable now: left to the connection-time check')
  t.same(await upstreamProblems('http://localhost:1/v1', upstreamPolicy('localhost')), [], 'an allowed host name')
  t.same(await upstreamProblems('http://localhost:1/v1', upstreamPolicy('127.0.0.0/8')), [], 'an allowed range')
})

test('connection-time lookup: DNS rebinding is refused on the address dialled', async (t) => {
  // A name that answers public first (the write-time check passes) and loopback after.
  let calls = 0
  const rebinding: LookupFn = (_host, options, cb) => {
    calls++
    const address = calls === 1 ? '93.184.216.34' : '127.0.0.1'
    if (options.all) cb(null, [{ address, family: 4 }])
    else cb(null, address, 4)
  }
  const lookup = guardedLookup(upstreamPolicy(), rebinding)
  const first = await new Promise<unknown>((resolve) => lookup('rebind.example', {}, (err, address) => resolve(err ?? address)))
  t.equal(first, '93.184.216.34')
  const second = await new Promise<unknown>((resolve) => lookup('rebind.example', { all: true }, (err, address) => resolve(err ?? address)))
  t.ok(isUpstreamBlocked(second), 'the second resolution is refused')
  t.match((second as Error).message, 'rebind.example resolves to 127.0.0.1, a loopback address')
})

test('guarded pools refuse loopback on connect; open pools and allowances reach it', async (t) => {
  let received = 0
  const server = createServer((_req, res) => {
    received++
    res.end('{"ok":true}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const port = (server.address() as AddressInfo).port

  const pools = new Pools()
  t.teardown(() => pools.close())
  for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
    const err = await pools
      .get(origin, { guarded: true })
      .request({ method: 'POST', path: '/v1/chat/completions', body: '{}' })
      .then(() => undefined, (e: unknown) => e)
    t.ok(isUpstreamBlocked(err), `${origin}: refused before connecting`)
  }
  t.equal(received, 0, 'nothing reached the server')

  const open = await pools.get(`http://127.0.0.1:${port}`).request({ method: 'POST', path: '/', body: '{}' })
  t.equal(open.statusCode, 200, 'an open (YAML) pool connects')
  await open.body.text()

  const allowing = new Pools(undefined, { policy: upstreamPolicy('127.0.0.1') })
  t.teardown(() => allowing.close())
  const viaName = await allowing.get(`http://localhost:${port}`, { guarded: true }).request({ method: 'POST', path: '/', body: '{}' })
  t.equal(viaName.statusCode, 200, 'ADMIN_UPSTREAM_ALLOW=127.0.0.1 lets a guarded pool reach it, by name too')
  await viaName.body.text()
  t.equal(received, 2)
})
