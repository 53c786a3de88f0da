import { readFileSync } from 'node:fs'
import { test } from 'tap'
import type { ChatCompletionChunk, ChatCompletionRequest, ChatMessage } from '../../lib/openai/types.js'
import { SseParser } from '../../lib/sse.js'
import { gemini } from '../../lib/providers/gemini/index.js'
import { toGeminiRequest } from '../../lib/providers/gemini/request.js'
import { GeminiStreamTranslator } from '../../lib/providers/gemini/stream.js'
import { UpstreamError, type ProviderSettings, type TranslateContext } from '../../lib/providers/types.js'
import { mockEmbedding, startMockGemini } from '../mocks/gemini.js'

const fixture = (name: string): any => JSON.parse(readFileSync(new URL(`../fixtures/gemini/${name}`, import.meta.url), 'utf8'))

const ctx: TranslateContext = { upstreamModel: 'gemini-2.0-flash', requestId: 'req1', created: 1700000000 }
const chat = gemini.chat!
const embeddings = gemini.embeddings!

const req = (messages: ChatMessage[], extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  model: 'my-gemini',
  messages,
  ...extra,
})
const translate = (body: ChatCompletionRequest) => JSON.parse(chat.request(body, ctx))

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='

// ---------------------------------------------------------------- requests

test('request: system/developer -> systemInstruction, roles mapped, same-role turns merged', async (t) => {
  const body = req([
    { role: 'system', content: 'You are a cat. Your name is Neko.' },
    { role: 'user', content: 'Hello' },
    { role: 'developer', content: [{ type: 'text', text: 'Answer in one sentence.' }] },
    { role: 'user', content: [{ type: 'text', text: 'I have two dogs in my house.' }] },
    { role: 'assistant', content: 'Great to meet you. What would you like to know?' },
    { role: 'user', content: 'How many paws are in my house?' },
  ])
  t.strictSame(translate(body), fixture('multi-turn.request.json'))
})

test('request: images as inlineData (data: URL) and fileData (http URL, mime from extension)', async (t) => {
  const body = req([
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Compare these pictures.' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
        { type: 'image_url', image_url: { url: 'https://example.com/photos/cat.webp?size=large', detail: 'high' } },
        { type: 'image_url', image_url: { url: 'https://example.com/render?id=42' } },
      ],
    },
  ])
  t.strictSame(translate(body), fixture('images.request.json'))
})

test('request: other content parts', async (t) => {
  const out = toGeminiRequest(
    req([
      {
        role: 'user',
        content: [
          { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
          { type: 'image_url', image_url: { url: 'data:image/svg+xml,%3Csvg%2F%3E' } },
          { type: 'text', text: '' },
        ],
      },
    ]),
  )
  t.strictSame(out, {
    contents: [
      {
        role: 'user',
        parts: [
          { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
          { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
          { inlineData: { mimeType: 'image/svg+xml', data: Buffer.from('<svg/>').toString('base64') } },
        ],
      },
    ],
  })
  t.strictSame(
    toGeminiRequest(req([{ role: 'assistant', content: [{ type: 'text', text: 'ok' }, { type: 'refusal', refusal: 'no' }] }])).contents,
    [{ role: 'model', parts: [{ text: 'ok' }] }],
  )
  t.throws(() => toGeminiRequest(req([{ role: 'user', content: [{ type: 'refusal', refusal: 'no' }] }])), {
    message: 'messages[0].content[0]: content part type "refusal" is not supported by gemini',
  })
  t.throws(() => toGeminiRequest(req([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }])), {
    message: 'messages[0].content[0].image_url.url: image_url must be a data: or http(s) URL',
  })
})

test('request: tools with JSON-schema keys Gemini rejects stripped, tool_choice function -> ANY + allowedFunctionNames', async (t) => {
  const body = req([{ role: 'user', content: "What's the weather in Boston and in Paris?" }], {
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_current_weather',
          description: 'Get the current weather in a given location',
          strict: true,
          parameters: {
            $schema: 'http://json-schema.org/draft-07/schema#',
            type: 'object',
            additionalProperties: false,
            properties: {
              location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
              unit: { type: ['string', 'null'], enum: ['celsius', 'fahrenheit'] },
              when: { type: 'string', format: 'date-time' },
              source: { type: 'string', format: 'uri' },
              tags: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  properties: { additionalProperties: { type: 'string', $comment: 'a field that happens to have this name' } },
                },
              },
            },
            required: ['location'],
          },
        },
      },
      { type: 'function', function: { name: 'get_time', description: 'Current time, no arguments', parameters: { type: 'object', properties: {} } } },
    ],
    tool_choice: { type: 'function', function: { name: 'get_current_weather' } },
    parallel_tool_calls: true,
  })
  t.strictSame(translate(body), fixture('tools.request.json'))
})

test('request: tool_choice strings -> functionCallingConfig mode', async (t) => {
  const base = req([{ role: 'user', content: 'hi' }], { tools: [{ type: 'function', function: { name: 'f' } }] })
  const mode = (tool_choice: ChatCompletionRequest['tool_choice']) => toGeminiRequest({ ...base, tool_choice }).toolConfig
  t.strictSame(mode('auto'), { functionCallingConfig: { mode: 'AUTO' } })
  t.strictSame(mode('none'), { functionCallingConfig: { mode: 'NONE' } })
  t.strictSame(mode('required'), { functionCallingConfig: { mode: 'ANY' } })
  t.equal(mode(undefined), undefined)
  t.strictSame(toGeminiRequest(base).tools, [{ functionDeclarations: [{ name: 'f' }] }])
})

test('request: assistant tool_calls -> functionCall, tool results -> functionResponse in one user turn', async (t) => {
  const body = req([
    { role: 'user', content: "What's the weather in Boston and in Paris?" },
    {
      role: 'assistant',
      content: 'Let me check both.',
      tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'get_current_weather', arguments: '{"location":"Boston, MA"}' } },
        { id: 'call_b', type: 'function', function: { name: 'get_current_weather', arguments: '{"location":"Paris, France","unit":"celsius"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_a', content: '{"temperature":22,"condition":"sunny"}' },
    { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: 'Paris: 18 degrees, light rain' }] },
    { role: 'assistant', content: 'Boston is sunny at 22, Paris has light rain at 18.' },
    { role: 'user', content: 'Thanks!' },
  ])
  t.strictSame(translate(body), fixture('function-response.request.json'))
})

test('request: functionResponse name comes from the matching tool_call id; non-object JSON is wrapped', async (t) => {
  const out = toGeminiRequest(
    req([
      { role: 'user', content: 'time and weather?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'get_time', arguments: '' } },
          { id: 'c2', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c2', content: '[1,2]' },
      { role: 'tool', tool_call_id: 'c1', content: '12:00' },
    ]),
  )
  t.strictSame(out.contents, [
    { role: 'user', parts: [{ text: 'time and weather?' }] },
    {
      role: 'model',
      parts: [{ functionCall: { name: 'get_time', args: {} } }, { functionCall: { name: 'get_weather', args: {} } }],
    },
    {
      role: 'user',
      parts: [
        { functionResponse: { name: 'get_weather', response: { content: '[1,2]' } } },
        { functionResponse: { name: 'get_time', response: { content: '12:00' } } },
      ],
    },
  ])
})

test('request: clear errors for bad tool arguments and unknown tool_call_id', async (t) => {
  const call = (args: string): ChatMessage[] => [
    { role: 'user', content: 'x' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: args } }] },
  ]
  t.throws(() => chat.request(req(call('{"location": ')), ctx), {
    message: 'messages[1].tool_calls[0].function.arguments is not valid JSON',
  })
  t.throws(() => chat.request(req(call('[1]')), ctx), {
    message: 'messages[1].tool_calls[0].function.arguments must be a JSON object',
  })
  t.throws(() => chat.request(req([...call('{}'), { role: 'tool', tool_call_id: 'nope', content: 'r' }]), ctx), {
    message: 'messages[2].tool_call_id "nope" does not match an earlier assistant tool call',
  })
})

test('request: generationConfig, stop sequences and json_schema response format', async (t) => {
  const body = req([{ role: 'user', content: 'List three colors as JSON.' }], {
    temperature: 0.2,
    top_p: 0.9,
    max_tokens: 1000,
    max_completion_tokens: 256,
    stop: ['END', 'STOP!'],
    n: 2,
    seed: 7,
    user: 'u-1',
    response_format: {
      type: 'json_schema',
      json_schema: {
        name: 'colors',
        strict: true,
        schema: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          additionalProperties: false,
          properties: {
            colors: { type: 'array', items: { type: 'string' }, maxItems: 3 },
            note: { type: ['string', 'null'] },
          },
          required: ['colors'],
        },
      },
    },
  })
  t.strictSame(translate(body), fixture('generation-config.request.json'))
})

test('request: single stop string, max_tokens fallback, json_object, nulls ignored', async (t) => {
  const out = toGeminiRequest(
    req([{ role: 'user', content: 'hi' }], {
      stop: '\n\n',
      max_tokens: 50,
      max_completion_tokens: null,
      temperature: null,
      presence_penalty: 0.5,
      response_format: { type: 'json_object' },
    }),
  )
  t.strictSame(out.generationConfig, { stopSequences: ['\n\n'], maxOutputTokens: 50, presencePenalty: 0.5, responseMimeType: 'application/json' })
  t.equal(toGeminiRequest(req([{ role: 'user', content: 'hi' }], { response_format: { type: 'text' } })).generationConfig, undefined)
})

// --------------------------------------------------------------- responses

test('response: text candidate', async (t) => {
  t.strictSame(chat.response(fixture('text.response.json'), ctx), {
    id: 'chatcmpl-req1',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gemini-2.0-flash',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I help you today?' }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
  })
})

test('response: parallel function calls -> tool_calls with deterministic ids', async (t) => {
  t.strictSame(chat.response(fixture('function-call-parallel.response.json'), ctx), {
    id: 'chatcmpl-req1',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gemini-2.5-flash',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_req1_0', type: 'function', function: { name: 'get_current_weather', arguments: '{"location":"Boston, MA"}' } },
            {
              id: 'call_req1_1',
              type: 'function',
              function: { name: 'get_current_weather', arguments: '{"location":"Paris, France","unit":"celsius"}' },
            },
          ],
        },
        finish_reason: 'tool_calls',
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: 58, completion_tokens: 22, total_tokens: 80 },
  })
})

test('response: MAX_TOKENS -> length', async (t) => {
  const out = chat.response(fixture('max-tokens.response.json'), ctx)
  t.strictSame(out.choices, [
    { index: 0, message: { role: 'assistant', content: 'Once upon a time, in a land far' }, finish_reason: 'length', logprobs: null },
  ])
  t.strictSame(out.usage, { prompt_tokens: 8, completion_tokens: 10, total_tokens: 18 })
})

test('response: thought parts skipped; cached and thoughts tokens in usage', async (t) => {
  t.strictSame(chat.response(fixture('usage-thoughts-cached.response.json'), ctx), {
    id: 'chatcmpl-req1',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gemini-2.5-pro',
    choices: [{ index: 0, message: { role: 'assistant', content: 'There are 8 prime numbers below 20.' }, finish_reason: 'stop', logprobs: null }],
    usage: {
      prompt_tokens: 2100,
      completion_tokens: 445,
      total_tokens: 2545,
      prompt_tokens_details: { cached_tokens: 2048 },
      completion_tokens_details: { reasoning_tokens: 434 },
    },
  })
})

test('response: prompt blocked -> one content_filter choice', async (t) => {
  t.strictSame(chat.response(fixture('prompt-blocked.response.json'), ctx), {
    id: 'chatcmpl-req1',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gemini-2.0-flash',
    choices: [{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'content_filter', logprobs: null }],
    usage: { prompt_tokens: 12, completion_tokens: 0, total_tokens: 12 },
  })
})

test('response: candidate stopped for SAFETY has no content', async (t) => {
  t.strictSame(chat.response(fixture('candidate-safety.response.json'), ctx).choices, [
    { index: 0, message: { role: 'assistant', content: null }, finish_reason: 'content_filter', logprobs: null },
  ])
})

test('response: several candidates keep their index; RECITATION -> content_filter', async (t) => {
  t.strictSame(chat.response(fixture('multi-candidate.response.json'), ctx).choices, [
    { index: 0, message: { role: 'assistant', content: 'Red' }, finish_reason: 'stop', logprobs: null },
    { index: 1, message: { role: 'assistant', content: 'Blue' }, finish_reason: 'stop', logprobs: null },
    { index: 2, message: { role: 'assistant', content: 'Stop here' }, finish_reason: 'content_filter', logprobs: null },
  ])
})

test('response: model falls back to the upstream model; odd finish reasons -> stop', async (t) => {
  const out = chat.response(
    { candidates: [{ content: { role: 'model', parts: [{ text: 'a' }, { text: 'b' }] }, finishReason: 'MALFORMED_FUNCTION_CALL' }] },
    ctx,
  )
  t.strictSame(out, {
    id: 'chatcmpl-req1',
    object: 'chat.completion',
    created: 1700000000,
    model: 'gemini-2.0-flash',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ab' }, finish_reason: 'stop', logprobs: null }],
  })
  t.throws(() => chat.response('oops', ctx), UpstreamError)
})

// ------------------------------------------------------------------ stream

const sseText = (chunks: unknown[]) => chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`).join('')

/** Feeds raw SSE bytes in odd-sized slices through SseParser and the translator. */
function runStream(raw: string, context = ctx) {
  const bytes = Buffer.from(raw, 'utf8')
  const parser = new SseParser()
  const translator = chat.stream(context, req([]))
  const chunks: ChatCompletionChunk[] = []
  const doneAfter: boolean[] = []
  const sizes = [7, 13, 1, 29, 3, 64]
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const size = sizes[i % sizes.length]!
    for (const ev of parser.push(bytes.subarray(pos, pos + size))) {
      chunks.push(...translator.push(ev))
      doneAfter.push(translator.done)
    }
    pos += size
  }
  for (const ev of parser.end()) chunks.push(...translator.push(ev))
  return { chunks, doneAfter, tail: translator.finish(), done: translator.done }
}

const chunkBase = (model: string) => ({ id: 'chatcmpl-req1', object: 'chat.completion.chunk', created: 1700000000, model })

test('stream: text chunks from raw SSE bytes split at odd offsets', async (t) => {
  const { chunks, doneAfter, tail, done } = runStream(sseText(fixture('stream-text.chunks.json')))
  const b = chunkBase('gemini-2.0-flash')
  t.strictSame(chunks, [
    { ...b, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }] },
    { ...b, choices: [{ index: 0, delta: { content: 'The' }, finish_reason: null, logprobs: null }] },
    { ...b, choices: [{ index: 0, delta: { content: ' sky is blue because of Rayleigh' }, finish_reason: null, logprobs: null }] },
    { ...b, choices: [{ index: 0, delta: { content: ' scattering. ✓' }, finish_reason: null, logprobs: null }] },
    { ...b, choices: [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }] },
  ])
  t.strictSame(doneAfter, [false, false, true])
  t.ok(done)
  t.strictSame(tail, [{ ...b, choices: [], usage: { prompt_tokens: 7, completion_tokens: 12, total_tokens: 19 } }])
})

test('stream: whole function calls -> tool_calls deltas, finish tool_calls, reasoning usage', async (t) => {
  const { chunks, doneAfter, tail } = runStream(sseText(fixture('stream-tools.chunks.json')))
  const b = chunkBase('gemini-2.5-flash')
  t.strictSame(chunks, [
    { ...b, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }] },
    {
      ...b,
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              { index: 0, id: 'call_req1_0', type: 'function', function: { name: 'get_current_weather', arguments: '{"location":"Boston, MA"}' } },
            ],
          },
          finish_reason: null,
          logprobs: null,
        },
      ],
    },
    {
      ...b,
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: 1,
                id: 'call_req1_1',
                type: 'function',
                function: { name: 'get_current_weather', arguments: '{"location":"Paris, France","unit":"celsius"}' },
              },
            ],
          },
          finish_reason: null,
          logprobs: null,
        },
      ],
    },
    { ...b, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls', logprobs: null }] },
  ])
  t.strictSame(doneAfter, [false, true])
  t.strictSame(tail, [
    { ...b, choices: [], usage: { prompt_tokens: 58, completion_tokens: 52, total_tokens: 110, completion_tokens_details: { reasoning_tokens: 30 } } },
  ])
})

test('stream: prompt blocked -> role chunk then content_filter', async (t) => {
  const { chunks, done, tail } = runStream(sseText([fixture('prompt-blocked.response.json')]))
  const b = chunkBase('gemini-2.0-flash')
  t.strictSame(chunks, [
    { ...b, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }] },
    { ...b, choices: [{ index: 0, delta: {}, finish_reason: 'content_filter', logprobs: null }] },
  ])
  t.ok(done)
  t.strictSame(tail, [{ ...b, choices: [], usage: { prompt_tokens: 12, completion_tokens: 0, total_tokens: 12 } }])
})

test('stream: in-band error payload throws UpstreamError; no usage -> no tail; not done without finishReason', async (t) => {
  const tr = new GeminiStreamTranslator(ctx)
  t.strictSame(tr.push({ data: JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }] } }] }) }).length, 2)
  t.equal(tr.done, false)
  t.strictSame(tr.finish(), [])
  const err = (() => {
    try {
      tr.push({ data: JSON.stringify(fixture('error-resource-exhausted.json')) })
    } catch (e) {
      return e
    }
  })()
  t.type(err, UpstreamError)
  t.strictSame((err as UpstreamError).info, {
    status: 429,
    type: 'rate_limit_error',
    code: 'rate_limit_exceeded',
    message: fixture('error-resource-exhausted.json').error.message,
    param: null,
    retryAfterSec: 30,
  })
  t.throws(() => tr.push({ data: '{not json' }), { name: 'UpstreamError', info: { status: 502, type: 'upstream_error' } })
})

test('stream: two candidates are done only when both finished', async (t) => {
  const tr = new GeminiStreamTranslator(ctx)
  tr.push({ data: JSON.stringify({ candidates: [{ content: { parts: [{ text: 'a' }] } }, { content: { parts: [{ text: 'b' }] }, index: 1 }] }) })
  const out = tr.push({ data: JSON.stringify({ candidates: [{ finishReason: 'STOP' }] }) })
  t.strictSame(out.map((c) => c.choices[0]), [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }])
  t.equal(tr.done, false)
  tr.push({ data: JSON.stringify({ candidates: [{ finishReason: 'MAX_TOKENS', index: 1 }] }) })
  t.equal(tr.done, true)
})

// -------------------------------------------------------------- embeddings

test('embeddings: always batchEmbedContents, dimensions -> outputDimensionality', async (t) => {
  const body = embeddings.request(
    { model: 'emb', input: ['What is the meaning of life?', 'How much wood would a woodchuck chuck?'], dimensions: 4 },
    { ...ctx, upstreamModel: 'gemini-embedding-001' },
  )
  t.strictSame(JSON.parse(body), fixture('embeddings.request.json'))
  t.strictSame(JSON.parse(embeddings.request({ model: 'emb', input: 'one' }, { ...ctx, upstreamModel: 'models/text-embedding-004' })), {
    requests: [{ model: 'models/text-embedding-004', content: { parts: [{ text: 'one' }] } }],
  })
  t.throws(() => embeddings.request({ model: 'emb', input: [1, 2, 3] }, ctx), {
    message: 'input[0]: gemini embeds text only; token-array inputs are not supported',
  })
  t.throws(() => embeddings.request({ model: 'emb', input: [] }, ctx), { message: 'input must be a non-empty string or array of strings' })
})

test('embeddings: response in index order, usage 0 when not reported', async (t) => {
  const values = fixture('embeddings.response.json').embeddings.map((e: { values: number[] }) => e.values)
  t.strictSame(embeddings.response(fixture('embeddings.response.json'), { ...ctx, upstreamModel: 'gemini-embedding-001' }), {
    object: 'list',
    data: [
      { object: 'embedding', index: 0, embedding: values[0] },
      { object: 'embedding', index: 1, embedding: values[1] },
    ],
    model: 'gemini-embedding-001',
    usage: { prompt_tokens: 0, total_tokens: 0 },
  })
  t.throws(() => embeddings.response({}, ctx), UpstreamError)
})

// ------------------------------------------------------------------ errors

test('errors: google.rpc status -> OpenAI error', async (t) => {
  const map = (file: string, headers = {}) => {
    const body = readFileSync(new URL(`../fixtures/gemini/${file}`, import.meta.url), 'utf8')
    return gemini.error(JSON.parse(body).error.code, body, headers)
  }
  const msg = (file: string) => fixture(file).error.message as string
  t.strictSame(map('error-resource-exhausted.json'), {
    status: 429,
    type: 'rate_limit_error',
    code: 'rate_limit_exceeded',
    message: msg('error-resource-exhausted.json'),
    param: null,
    retryAfterSec: 30,
  })
  t.equal(map('error-resource-exhausted.json', { 'retry-after': '12' }).retryAfterSec, 12)
  t.strictSame(map('error-invalid-argument.json'), {
    status: 400,
    type: 'invalid_request_error',
    code: null,
    message: msg('error-invalid-argument.json'),
    param: null,
  })
  t.strictSame(map('error-failed-precondition.json'), {
    status: 400,
    type: 'invalid_request_error',
    code: null,
    message: 'User location is not supported for the API use.',
    param: null,
  })
  t.strictSame(map('error-api-key-invalid.json'), {
    status: 401,
    type: 'authentication_error',
    code: 'invalid_api_key',
    message: 'API key not valid. Please pass a valid API key.',
    param: null,
  })
  t.strictSame(map('error-unauthenticated.json'), {
    status: 401,
    type: 'authentication_error',
    code: 'invalid_api_key',
    message: msg('error-unauthenticated.json'),
    param: null,
  })
  t.strictSame(map('error-permission-denied.json'), {
    status: 403,
    type: 'permission_error',
    code: null,
    message: msg('error-permission-denied.json'),
    param: null,
  })
  t.strictSame(map('error-not-found.json'), { status: 404, type: 'not_found_error', code: null, message: msg('error-not-found.json'), param: null })
  t.strictSame(map('error-internal.json'), { status: 500, type: 'server_error', code: null, message: msg('error-internal.json'), param: null })
  t.strictSame(map('error-unavailable.json'), {
    status: 503,
    type: 'server_error',
    code: null,
    message: 'The model is overloaded. Please try again later.',
    param: null,
  })
  t.strictSame(map('error-deadline-exceeded.json'), {
    status: 504,
    type: 'server_error',
    code: null,
    message: 'Deadline expired before operation could complete.',
    param: null,
  })
})

test('errors: non-JSON bodies, array-wrapped errors, keys never echoed', async (t) => {
  t.strictSame(gemini.error(502, '<html><body>Bad Gateway</body></html>', {}), {
    status: 502,
    type: 'upstream_error',
    code: null,
    message: 'gemini returned 502: <html><body>Bad Gateway</body></html>',
    param: null,
  })
  t.strictSame(gemini.error(500, '', { 'retry-after': '3' }), {
    status: 502,
    type: 'upstream_error',
    code: null,
    message: 'gemini returned 500',
    param: null,
    retryAfterSec: 3,
  })
  t.strictSame(gemini.error(404, 'Not Found', {}), { status: 404, type: 'not_found_error', code: null, message: 'gemini returned 404: Not Found', param: null })
  t.strictSame(gemini.error(503, JSON.stringify([fixture('error-unavailable.json')]), {}).status, 503)
  const leaky = JSON.stringify({
    error: { code: 400, status: 'INVALID_ARGUMENT', message: 'bad key AIzaSyDUMMYdummyDUMMYdummyDUMMYdummy12 in ?key=secret&x=1' },
  })
  t.equal(gemini.error(400, leaky, {}).message, 'bad key [redacted] in ?key=[redacted]&x=1')
})

// ---------------------------------------------------------------- endpoint

test('endpoint: URLs per operation, x-goog-api-key plus provider headers', async (t) => {
  const p: ProviderSettings = { name: 'g', type: 'gemini', apiKey: 'k-123', headers: { 'x-extra': '1' } }
  t.strictSame(gemini.endpoint('chat', p, 'gemini-2.5-flash', false), {
    url: 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent',
    headers: { 'x-goog-api-key': 'k-123', 'x-extra': '1' },
  })
  t.equal(
    gemini.endpoint('chat', { ...p, baseUrl: 'http://proxy.local/v1beta/' }, 'models/gemini-2.5-flash', true).url,
    'http://proxy.local/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
  )
  t.equal(gemini.endpoint('embeddings', p, 'gemini-embedding-001', false).url, 'https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents')
  t.strictSame(gemini.endpoint('chat', { name: 'g', type: 'gemini' }, 'm', false).headers, {})
  t.equal(gemini.type, 'gemini')
})

// ------------------------------------------------------- real HTTP round trip

test('mock Gemini server: real HTTP round trips through the adapter', async (t) => {
  const gem = await startMockGemini({ apiKey: 'test-gemini-key' })
  t.teardown(() => gem.close())
  const provider: ProviderSettings = { name: 'g', type: 'gemini', baseUrl: gem.url, apiKey: 'test-gemini-key' }
  const call = async (op: 'chat' | 'embeddings', body: string, stream = false, p = provider) => {
    const ep = gemini.endpoint(op, p, ctx.upstreamModel, stream)
    return fetch(ep.url, { method: 'POST', headers: { ...ep.headers, 'content-type': 'application/json' }, body })
  }
  const hello = req([{ role: 'user', content: 'hi there' }])

  t.test('generateContent', async (t) => {
    const res = await call('chat', chat.request(hello, ctx))
    t.equal(res.status, 200)
    t.strictSame(chat.response(await res.json(), ctx), {
      id: 'chatcmpl-req1',
      object: 'chat.completion',
      created: 1700000000,
      model: 'gemini-2.0-flash',
      choices: [{ index: 0, message: { role: 'assistant', content: 'echo: hi there' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 },
    })
    const seen = gem.requests.at(-1)!
    t.equal(seen.path, '/v1beta/models/gemini-2.0-flash:generateContent')
    t.equal(seen.headers['x-goog-api-key'], 'test-gemini-key')
    t.strictSame(seen.body, { contents: [{ role: 'user', parts: [{ text: 'hi there' }] }] })
  })

  t.test('streamGenerateContent?alt=sse', async (t) => {
    const res = await call('chat', chat.request(hello, ctx), true)
    t.match(res.headers.get('content-type'), /text\/event-stream/)
    const parser = new SseParser()
    const tr = chat.stream(ctx, hello)
    const chunks: ChatCompletionChunk[] = []
    for await (const bytes of res.body!) for (const ev of parser.push(bytes)) chunks.push(...tr.push(ev))
    t.ok(tr.done)
    t.ok(chunks.length >= 4, 'several content chunks')
    t.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'echo: hi there')
    t.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'stop')
    t.strictSame(tr.finish()[0]!.usage, { prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 })
    t.equal(gem.requests.at(-1)!.path, '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse')
  })

  t.test('tools -> functionCall of the first declared function', async (t) => {
    const body = req([{ role: 'user', content: 'weather?' }], {
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    })
    const res = await call('chat', chat.request(body, ctx))
    const out = chat.response(await res.json(), ctx)
    t.strictSame(out.choices[0], {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_req1_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      finish_reason: 'tool_calls',
      logprobs: null,
    })
  })

  t.test('batchEmbedContents', async (t) => {
    const ectx = { ...ctx, upstreamModel: 'gemini-embedding-001' }
    const ep = gemini.endpoint('embeddings', provider, ectx.upstreamModel, false)
    const res = await fetch(ep.url, {
      method: 'POST',
      headers: { ...ep.headers, 'content-type': 'application/json' },
      body: embeddings.request({ model: 'e', input: ['a', 'b'] }, ectx),
    })
    const out = embeddings.response(await res.json(), ectx)
    t.strictSame(out.data.map((d) => d.embedding), [mockEmbedding('a'), mockEmbedding('b')])
    t.equal((out.data[0]!.embedding as number[]).length, 8)
  })

  t.test('wrong key and scripted failures map to OpenAI errors', async (t) => {
    const bad = await call('chat', chat.request(hello, ctx), false, { ...provider, apiKey: 'wrong' })
    t.equal(bad.status, 400)
    t.match(gemini.error(bad.status, await bad.text(), {}), { status: 401, type: 'authentication_error' })

    gem.script(() => ({
      status: 429,
      error: { message: 'Quota exceeded', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }] },
    }))
    const limited = await call('chat', chat.request(hello, ctx))
    t.strictSame(gemini.error(limited.status, await limited.text(), {}), {
      status: 429,
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
      message: 'Quota exceeded',
      param: null,
      retryAfterSec: 7,
    })

    gem.script(() => ({ cut: true }))
    const cut = await call('chat', chat.request(hello, ctx), true)
    const parser = new SseParser()
    const tr = chat.stream(ctx, hello)
    await t.rejects(async () => {
      for await (const bytes of cut.body!) for (const ev of parser.push(bytes)) tr.push(ev)
    })
    t.equal(tr.done, false)
  })
})
