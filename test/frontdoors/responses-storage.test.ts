// Stored responses on SQLite and on Postgres (TEST_DATABASE_URL): saved after
// the answer (streams once complete), read back as answered, continued,
// listed, deleted; scoped to the key, or to its tenant when it has one.
import { before, test } from 'tap'
import { startMockOpenAI } from '../mocks/openai.js'
import { buildTestApp, tempPostgresUrl, tempSqliteUrl } from '../helpers/app.js'
import { createKey, type CreatedKey } from '../helpers/limits.js'
import { warmWriterThread } from '../helpers/money.js'
import { sseData } from '../helpers/sse.js'
import type { FastifyInstance } from 'fastify'

before(warmWriterThread)

function gateway(url: string) {
  return {
    providers: [{ name: 'up', type: 'openai', baseUrl: `${url}/v1`, apiKey: 'sk-up' }],
    models: [{ name: 'm', deployments: [{ provider: 'up', model: 'up-model', pricing: { input: 1, output: 2 } }] }],
    routing: { strategy: 'model' },
  }
}

const post = (app: FastifyInstance, key: CreatedKey, body: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: '/v1/responses', headers: key.headers, payload: { model: 'm', ...body } })
const get = (app: FastifyInstance, key: CreatedKey, path: string) => app.inject({ method: 'GET', url: `/v1/responses/${path}`, headers: key.headers })
const del = (app: FastifyInstance, key: CreatedKey, id: string) => app.inject({ method: 'DELETE', url: `/v1/responses/${id}`, headers: key.headers })

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`stored responses on ${kind}`, async (t) => {
    const databaseUrl = kind === 'sqlite' ? tempSqliteUrl(t) : tempPostgresUrl(t)
    if (!databaseUrl) {
      t.skip('TEST_DATABASE_URL is not set: stored responses on Postgres not tested')
      return
    }
    const up = await startMockOpenAI({ streamChunks: 3 })
    t.teardown(() => up.close())
    const app = await buildTestApp(t, { gateway: gateway(up.url), databaseUrl })
    t.equal(app.dbProvider, kind)
    const alice = await createKey(app, { name: 'alice' })
    const bob = await createKey(app, { name: 'bob' })
    const acme1 = await createKey(app, { name: 'acme-1', tenant: 'acme' })
    const acme2 = await createKey(app, { name: 'acme-2', tenant: 'acme' })
    const globex = await createKey(app, { name: 'globex', tenant: 'globex' })

    // Plain: stored as answered.
    const created = await post(app, alice, { input: 'first words', metadata: { ticket: 'T-1' }, temperature: 0.5 })
    t.equal(created.statusCode, 200)
    const r1 = created.json()
    t.equal(await app.db.storedResponse.count(), 1)
    const row = await app.db.storedResponse.findUnique({ where: { id: r1.id } })
    t.equal(row!.keyId, alice.id)
    t.equal(row!.tenant, null)
    t.notOk(JSON.stringify(row).includes(alice.key), 'the key itself is not stored')
    const read = await get(app, alice, r1.id)
    t.equal(read.statusCode, 200)
    t.same(read.json(), r1, 'read back exactly as answered')

    // Streamed: stored once complete, with the final output and usage.
    const streamed = await post(app, alice, { input: 'stream it', stream: true, previous_response_id: r1.id })
    t.equal(streamed.statusCode, 200)
    const events = sseData(streamed.body) as Array<Record<string, any>>
    const completed = events.find((e) => e.type === 'response.completed')!.response
    const stored = (await get(app, alice, completed.id)).json()
    t.same(stored, completed, 'the stored response is the one response.completed carried')
    t.equal(stored.previous_response_id, r1.id)
    t.equal(stored.output[0].content[0].text, 'echo: t1 t2')
    // The upstream got the whole conversation.
    t.same(up.requests[1]!.body!.messages, [
      { role: 'user', content: 'first words' },
      { role: 'assistant', content: 'echo: first words' },
      { role: 'user', content: 'stream it' },
    ])

    // Another key without a tenant: 404 everywhere, like an id that never existed.
    const missing = (await get(app, bob, 'resp_doesnotexist000000000')).json().error
    for (const res of [await get(app, bob, r1.id), await get(app, bob, `${r1.id}/input_items`), await del(app, bob, r1.id)]) {
      t.equal(res.statusCode, 404)
      t.equal(res.json().error.code, 'response_not_found')
      t.equal(res.json().error.message, missing.message.replace('resp_doesnotexist000000000', r1.id), 'no hint that it exists')
    }
    const cont = await post(app, bob, { previous_response_id: r1.id, input: 'steal' })
    t.equal(cont.statusCode, 404)
    t.equal(cont.json().error.code, 'previous_response_not_found')
    t.equal(cont.json().error.param, 'previous_response_id')
    t.equal((await get(app, alice, r1.id)).statusCode, 200, "bob's delete did not delete it")

    // Tenant scope: every key of the tenant, nobody else.
    const shared = (await post(app, acme1, { input: 'tenant words' })).json()
    t.equal((await get(app, acme2, shared.id)).statusCode, 200, 'same tenant reads it')
    const continued = await post(app, acme2, { previous_response_id: shared.id, input: 'and more' })
    t.equal(continued.statusCode, 200, 'same tenant continues it')
    for (const other of [globex, alice]) {
      t.equal((await get(app, other, shared.id)).statusCode, 404, `${other.name} cannot read it`)
      t.equal((await post(app, other, { previous_response_id: continued.json().id, input: 'x' })).statusCode, 404)
    }
    // A chain is readable only when every link is.
    const mixed = await post(app, acme1, { previous_response_id: continued.json().id, input: 'third' })
    t.equal(mixed.statusCode, 200)

    // input_items: the response's own input, newest first by default, paged.
    const multi = (await post(app, alice, {
      input: [
        { role: 'user', content: 'one' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'two' }] },
        { role: 'user', content: [{ type: 'input_text', text: 'three' }] },
      ],
    })).json()
    const list = (await get(app, alice, `${multi.id}/input_items`)).json()
    t.equal(list.object, 'list')
    t.same(list.data.map((i: any) => i.content[0].text), ['three', 'two', 'one'])
    t.ok(list.data.every((i: any) => typeof i.id === 'string' && i.id.startsWith('msg_')))
    t.equal(list.first_id, list.data[0].id)
    t.equal(list.has_more, false)
    const page = (await get(app, alice, `${multi.id}/input_items?order=asc&limit=2`)).json()
    t.same(page.data.map((i: any) => i.content[0].text), ['one', 'two'])
    t.equal(page.has_more, true)
    const next = (await get(app, alice, `${multi.id}/input_items?order=asc&after=${page.last_id}`)).json()
    t.same(next.data.map((i: any) => i.content[0].text), ['three'])
    t.equal((await get(app, alice, `${multi.id}/input_items?limit=0`)).statusCode, 400)

    // Delete.
    const deleted = await del(app, alice, r1.id)
    t.equal(deleted.statusCode, 200)
    t.same(deleted.json(), { id: r1.id, object: 'response', deleted: true })
    t.equal((await get(app, alice, r1.id)).statusCode, 404)
    // The streamed response continued r1: continuing it needs r1, now gone.
    const broken = await post(app, alice, { previous_response_id: completed.id, input: 'go on' })
    t.equal(broken.statusCode, 404)
    t.match(broken.json().error.message, new RegExp(`'${r1.id}' not found \\(it is earlier in the conversation of '${completed.id}'`))

    // store: false keeps nothing.
    const before = await app.db.storedResponse.count()
    const ephemeral = await post(app, alice, { input: 'forget me', store: false })
    t.equal(ephemeral.json().store, false)
    t.equal(await app.db.storedResponse.count(), before)
    t.equal((await get(app, alice, ephemeral.json().id)).statusCode, 404)
    const streamedEphemeral = await post(app, alice, { input: 'forget me too', store: false, stream: true })
    t.match(streamedEphemeral.body, /response\.completed/)
    t.equal(await app.db.storedResponse.count(), before)
  })
}
