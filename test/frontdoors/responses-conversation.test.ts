// The pure side of stored responses: who may read one, the input items kept,
// the conversation rebuilt from a chain (order, scope, bounds), a row and
// back; and the chat SSE -> Responses events relay (store before the final
// event, nothing stored on failure or after the client left).
import { test } from 'tap'
import {
  chatSseToResponses,
  inputItemList,
  inputItems,
  loadHistory,
  mayAccess,
  ownerOf,
  ResponsesStreamTranslator,
  responsesToChat,
  storedResponse,
  storedRow,
  type Response,
  type StoredResponseRow,
} from '../../lib/frontdoors/responses/index.js'
import { sequentialIds } from '../../lib/frontdoors/ids.js'
import { sseData } from '../helpers/sse.js'

const alice = ownerOf({ id: 'key-a' })
const bob = ownerOf({ id: 'key-b', tenant: null })
const acme1 = ownerOf({ id: 'key-1', tenant: 'acme' })
const acme2 = ownerOf({ id: 'key-2', tenant: 'acme' })
const master = ownerOf({ id: null })

test('mayAccess: the key, or every key of its tenant', async (t) => {
  const byAlice = { keyId: 'key-a', tenant: null }
  const byAcme = { keyId: 'key-1', tenant: 'acme' }
  const byMaster = { keyId: null, tenant: null }
  t.ok(mayAccess(byAlice, alice))
  t.notOk(mayAccess(byAlice, bob))
  t.notOk(mayAccess(byAlice, master), 'the master key does not read other keys’ responses')
  t.notOk(mayAccess(byAlice, { keyId: 'key-a', tenant: 'acme' }), 'a key moved into a tenant reads as the tenant')
  t.ok(mayAccess(byAcme, acme1))
  t.ok(mayAccess(byAcme, acme2))
  t.notOk(mayAccess(byAcme, alice))
  t.notOk(mayAccess(byAcme, ownerOf({ id: 'key-1', tenant: 'globex' })))
  t.ok(mayAccess(byMaster, master))
  t.notOk(mayAccess(byMaster, alice))
})

test('inputItems: a string is one user message; contents become parts; every item gets an id', async (t) => {
  const ids = sequentialIds()
  t.same(inputItems('hi', ids), [{ type: 'message', id: 'msg_001', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }])
  t.same(
    inputItems([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: 'ok', id: 'mine' },
      { type: 'web_search_call', status: 'completed' },
      'not an item',
    ], ids),
    [
      { role: 'user', content: [{ type: 'input_text', text: 'a' }], type: 'message', id: 'msg_002' },
      { role: 'assistant', content: [{ type: 'output_text', text: 'b' }], type: 'message', id: 'msg_003' },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}', id: 'fc_001' },
      { type: 'function_call_output', call_id: 'c1', output: 'ok', id: 'mine' },
      { type: 'web_search_call', status: 'completed', id: 'item_001' },
    ],
  )
  t.same(inputItems(undefined), [])
})

function response(id: string, previous: string | null, text: string): Response {
  return {
    id, object: 'response', created_at: 1_700_000_000, status: 'completed', background: false, error: null, incomplete_details: null,
    instructions: 'sys', max_output_tokens: null, model: 'm',
    output: [{ type: 'message', id: `msg_${id}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }],
    parallel_tool_calls: true, previous_response_id: previous, reasoning: { effort: null, summary: null }, store: true, temperature: null,
    text: { format: { type: 'text' } }, tool_choice: 'auto', tools: [], top_p: null, truncation: 'disabled',
    usage: { input_tokens: 3, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 5 },
    user: null, metadata: { k: 'v' },
  }
}

/** A chain r1 <- r2 <- … <- rn stored by `owner`. */
function chain(n: number, owner = alice): Map<string, StoredResponseRow> {
  const rows = new Map<string, StoredResponseRow>()
  for (let i = 1; i <= n; i++) {
    rows.set(`r${i}`, storedRow(response(`r${i}`, i > 1 ? `r${i - 1}` : null, `answer ${i}`), inputItems(`question ${i}`, sequentialIds()), owner, i))
  }
  return rows
}

test('loadHistory: oldest first, input then output of each response; every link checked', async (t) => {
  const rows = chain(3)
  const find = async (id: string) => rows.get(id)
  const history = await loadHistory(find, 'r3', alice)
  t.equal(history.depth, 4)
  t.same(history.items.map((i: any) => i.content[0].text), ['question 1', 'answer 1', 'question 2', 'answer 2', 'question 3', 'answer 3'])
  const { chat } = responsesToChat({ model: 'm', input: 'question 4' }, history.items)
  t.same(chat.messages.map((m) => m.content), ['question 1', 'answer 1', 'question 2', 'answer 2', 'question 3', 'answer 3', 'question 4'])

  await t.rejects(loadHistory(find, 'r3', bob), { statusCode: 404, code: 'previous_response_not_found', param: 'previous_response_id' })
  await t.rejects(loadHistory(find, 'nope', alice), { message: "Previous response with id 'nope' not found." })
  rows.delete('r1')
  await t.rejects(loadHistory(find, 'r3', alice), { statusCode: 404, message: /'r1' not found \(it is earlier in the conversation of 'r3'/ })
  // A link owned by someone else (rows written by hand) breaks the chain the same way.
  rows.set('r1', storedRow(response('r1', null, 'x'), [], bob, 1))
  await t.rejects(loadHistory(find, 'r3', alice), { statusCode: 404 })
})

test('loadHistory: bounded by responses (depth known from the newest row, or counted) and by size; no loops', async (t) => {
  const rows = chain(6)
  let reads = 0
  const find = async (id: string) => {
    reads++
    return rows.get(id)
  }
  await t.rejects(loadHistory(find, 'r6', alice, { maxResponses: 5 }), { statusCode: 400, code: 'conversation_too_long', message: /it has 6 responses; at most 5/ })
  t.equal(reads, 1, 'refused from the newest row alone')
  t.equal((await loadHistory(find, 'r5', alice, { maxResponses: 5 })).depth, 6)

  // Rows without a depth (older writers): counted while walking.
  for (const row of rows.values()) row.envelope = '{}'
  await t.rejects(loadHistory(find, 'r6', alice, { maxResponses: 5 }), { code: 'conversation_too_long', message: /more than 5 responses/ })
  await t.rejects(loadHistory(find, 'r6', alice, { maxChars: 600 }), { code: 'conversation_too_long', message: /exceed 600 characters/ })

  // A row pointing back into its own chain ends as not found, not as a loop.
  rows.get('r1')!.previousResponseId = 'r3'
  await t.rejects(loadHistory(find, 'r3', alice), { statusCode: 404 })
})

test('a row and back: the Response as answered; the depth stays private', async (t) => {
  const original = response('r9', 'r8', 'hello')
  const row = storedRow(original, [], acme1, 7)
  t.equal(row.tenant, 'acme')
  t.equal(row.keyId, 'key-1')
  t.equal(row.createdAt.getTime(), 1_700_000_000_000)
  t.same(storedResponse(row), original)
  t.notOk(JSON.stringify(storedResponse(row)).includes('depth'))
  const noUsage = storedRow({ ...original, usage: null }, [], acme1, 1)
  t.equal(noUsage.usage, null)
  t.equal(storedResponse(noUsage).usage, null)
})

test('inputItemList: newest first by default, limit, after/before cursors', async (t) => {
  const row = storedRow(response('r1', null, 'x'), inputItems(['a', 'b', 'c', 'd'].map((text) => ({ role: 'user', content: text })), sequentialIds()), alice, 1)
  const texts = (list: { data: unknown[] }) => list.data.map((i: any) => i.content[0].text)
  t.same(texts(inputItemList(row)), ['d', 'c', 'b', 'a'])
  const asc = inputItemList(row, { order: 'asc', limit: 3 })
  t.same(texts(asc), ['a', 'b', 'c'])
  t.equal(asc.has_more, true)
  t.equal(asc.first_id, 'msg_001')
  t.equal(asc.last_id, 'msg_003')
  t.same(texts(inputItemList(row, { order: 'asc', after: 'msg_002' })), ['c', 'd'])
  t.same(texts(inputItemList(row, { before: 'msg_002' })), ['d', 'c'])
  t.same(inputItemList(row, { after: 'unknown' }).data, [])
  t.same(inputItemList(row, { after: 'unknown' }).first_id, null)
})

const ctx = () => responsesToChat({ model: 'm', input: 'x', stream: true }).context
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'u', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
const usage = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'u', choices: [], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } })}\n\n`

async function collect(gen: AsyncIterable<Buffer | string>): Promise<Array<Record<string, any>>> {
  let text = ''
  for await (const part of gen) text += part
  return sseData(text) as Array<Record<string, any>>
}

async function* pieces(...parts: string[]): AsyncGenerator<Buffer> {
  // Split across reads, as a socket would.
  for (const part of parts) {
    const cut = Math.floor(part.length / 2)
    yield Buffer.from(part.slice(0, cut))
    yield Buffer.from(part.slice(cut))
  }
}

test('chatSseToResponses: completed; stored before the final event', async (t) => {
  const order: string[] = []
  const translator = new ResponsesStreamTranslator({ ...ctx(), id: 'resp_1', ids: sequentialIds() })
  const gen = chatSseToResponses(pieces(chunk({ role: 'assistant', content: 'Hel' }), chunk({ content: 'lo' }), chunk({}, 'stop'), usage, 'data: [DONE]\n\n'), translator, {
    onComplete: async (response) => {
      order.push(`stored ${response.status} ${response.output.length}`)
    },
  })
  let text = ''
  for await (const part of gen) {
    if (part.includes('response.completed')) order.push('completed sent')
    text += part
  }
  t.same(order, ['stored completed 1', 'completed sent'])
  const events = sseData(text) as Array<Record<string, any>>
  const final = events[events.length - 1]!
  t.equal(final.type, 'response.completed')
  t.equal(final.response.output[0].content[0].text, 'Hello')
  t.same(final.response.usage, { input_tokens: 4, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 6 })
})

test('chatSseToResponses: the gateway error event, a stream cut short, a client gone: nothing stored', async (t) => {
  let stored = 0
  const onComplete = () => {
    stored++
  }
  const errorEvent = `data: ${JSON.stringify({ error: { message: 'Rate limited upstream', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } })}\n\n`
  const failed = await collect(chatSseToResponses(pieces(chunk({ content: 'a' }), errorEvent), new ResponsesStreamTranslator(ctx()), { onComplete }))
  t.same(failed.slice(-2).map((e) => e.type), ['error', 'response.failed'])
  t.equal(failed[failed.length - 2]!.code, 'rate_limit_exceeded')
  t.equal(failed[failed.length - 1]!.response.error.code, 'rate_limit_exceeded')

  const cut = await collect(chatSseToResponses(pieces(chunk({ content: 'a' })), new ResponsesStreamTranslator(ctx()), { onComplete }))
  t.same(cut.slice(-2).map((e) => e.type), ['error', 'response.failed'])
  t.equal(cut[cut.length - 2]!.code, 'bad_upstream_response')

  // The backend resumed a closed tool call: the translator refuses, the client learns it.
  const tool = (index: number, args: string, id?: string) => chunk({ tool_calls: [{ index, ...(id ? { id, type: 'function', function: { name: 'f', arguments: args } } : { function: { arguments: args } }) }] })
  const resumed = await collect(chatSseToResponses(pieces(tool(0, '{', 'c0'), tool(1, '{}', 'c1'), tool(0, '}')), new ResponsesStreamTranslator(ctx()), { onComplete }))
  t.same(resumed.slice(-2).map((e) => e.type), ['error', 'response.failed'])

  let gone = false
  const abandoned = await collect(chatSseToResponses(
    (async function* () {
      yield chunk({ content: 'a' })
      gone = true
      yield 'data: [DONE]\n\n'
    })(),
    new ResponsesStreamTranslator(ctx()),
    { onComplete, aborted: () => gone },
  ))
  t.notOk(abandoned.some((e) => e.type === 'response.completed' || e.type === 'response.failed'), 'nothing more is sent once the client left')
  t.equal(stored, 0, 'nothing stored in any of these')

  const whole = await collect(chatSseToResponses(chunk({ content: 'one string' }) + chunk({}, 'length') + 'data: [DONE]\n\n', new ResponsesStreamTranslator(ctx()), { onComplete }))
  t.equal(whole[whole.length - 1]!.type, 'response.incomplete', 'an answer given whole (the in-process mock) works too')
  t.equal(stored, 1, 'an incomplete response is stored')
})
