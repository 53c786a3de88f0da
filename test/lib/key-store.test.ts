// KeyStore remembers keys that passed a check (no SHA-256 on a client's next
// request), and forgets them all whenever the keys change: a revoked key is
// refused on its very next request.
import { test } from 'tap'
import { hashKey, KeyStore, MASTER_IDENTITY, type KeyIdentity } from '../../lib/keys/keys.js'

const identity = (name: string): KeyIdentity => ({ id: name, name, allowedModels: [], allowStrategyOverride: false, master: false })

test('a verified key is remembered until the keys change', async (t) => {
  const store = new KeyStore('master-key-0123456789')
  store.replace([{ hash: hashKey('sk-sy-a'), identity: identity('a') }])
  t.equal(store.verify('master-key-0123456789'), MASTER_IDENTITY)
  t.equal(store.verify('sk-sy-a')?.name, 'a')
  t.equal(store.verify('sk-sy-a')?.name, 'a', 'again, from the memo')
  t.equal(store.verify('sk-sy-b'), undefined)
  // 'a' revoked, 'b' created.
  store.replace([{ hash: hashKey('sk-sy-b'), identity: identity('b') }])
  t.equal(store.verify('sk-sy-a'), undefined, 'revoked: refused at once')
  t.equal(store.verify('sk-sy-b')?.name, 'b', 'a key refused before is accepted once it exists')
  t.equal(store.verify('master-key-0123456789'), MASTER_IDENTITY)
})

test('the memo is bounded', async (t) => {
  const store = new KeyStore()
  const keys = Array.from({ length: 10_050 }, (_, i) => `sk-sy-${i}`)
  store.replace(keys.map((k) => ({ hash: hashKey(k), identity: identity(k) })))
  t.same(keys.filter((k) => store.verify(k)?.name !== k), [], 'every key verifies')
  t.ok(((store as unknown as { verified: Map<string, unknown> }).verified.size) <= 10_000)
})
