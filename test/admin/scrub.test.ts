// lib/security/scrub.ts: credentials never survive an upstream error message,
// ordinary wording does.
import { test } from 'tap'
import { MAX_MESSAGE_CHARS, scrubSecrets } from '../../lib/security/scrub.js'
import { fromErrorInfo } from '../../lib/errors.js'
import { anthropicError } from '../../lib/providers/anthropic/errors.js'
import { geminiError } from '../../lib/providers/gemini/errors.js'

test('credential shapes are replaced', async (t) => {
  const cases: Array<[string, string]> = [
    ['Incorrect API key provided: sk-proj-abc123XYZ789def. You can find your key at ...', 'Incorrect API key provided: [redacted]. You can find your key at ...'],
    ['bad key sk-ant-api03-AbCdEf123456-xyz', 'bad key [redacted]'],
    ['Authorization: Bearer abcdef0123456789abcdef rejected', 'Authorization: Bearer [redacted] rejected'],
    ['API key not valid: AIzaSyA1234567890abcdefghij', 'API key not valid: [redacted]'],
    ['GET https://x.googleapis.com/v1/models?key=plainsecretvalue&alt=sse failed', 'GET https://x.googleapis.com/v1/models?key=[redacted]&alt=sse failed'],
    ['token=9f86d081884c7d659a2feaa0c55ad015 is expired', 'token=[redacted] is expired'],
    ['invalid x-api-key "c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA="', 'invalid x-api-key "[redacted]"'],
    ['the secret is 0123456789abcdef0123456789abcdef', 'the secret is [redacted]'],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig-nature_1 refused', 'jwt [redacted] refused'],
  ]
  for (const [input, expected] of cases) t.equal(scrubSecrets(input), expected, input)
})

test('known secrets are replaced verbatim, whatever their shape', async (t) => {
  const key = 'my.custom/provider+key=42'
  t.equal(scrubSecrets(`echo: ${key} and again ${key}`, [key]), 'echo: [redacted] and again [redacted]')
  t.equal(scrubSecrets('short ab stays', ['ab']), 'short ab stays', 'very short values are not searched for')
  t.equal(scrubSecrets('nothing here', [undefined, null, '']), 'nothing here')
})

test('ordinary messages are left alone', async (t) => {
  for (const text of [
    "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.",
    'Invalid value for key max_completion_tokens: expected an integer',
    'Missing Bearer token in the Authorization header',
    'Basic authentication is not supported',
    'prompt is too long: 210000 tokens > 200000 maximum',
    'The model `gpt-4o-2024-08-06` does not exist or you do not have access to it.',
    'risk-assessment failed for task-management',
  ]) {
    t.equal(scrubSecrets(text), text, text)
  }
})

test('fromErrorInfo scrubs the message, code and param; provider parsers use the same scrub', async (t) => {
  const err = fromErrorInfo(
    { status: 401, type: 'authentication_error', code: 'key sk-live-0123456789', param: 'Bearer abcdefgh12345678', message: 'Invalid key: custom-secret-value' },
    ['custom-secret-value'],
  )
  t.equal(err.message, 'Invalid key: [redacted]')
  t.equal(err.code, 'key [redacted]')
  t.equal(err.param, 'Bearer [redacted]')
  t.equal(err.statusCode, 401)

  const anthropic = anthropicError(401, JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key sk-ant-api03-secret123' } }), {})
  t.equal(anthropic.message, 'invalid x-api-key [redacted]')
  const gemini = geminiError(400, JSON.stringify({ error: { code: 400, status: 'INVALID_ARGUMENT', message: 'API key not valid: AIzaSyZZZZZZZZZZZZZZZZ' } }), {})
  t.equal(gemini.message, 'API key not valid: [redacted]')
})

test('long messages are cut before scrubbing (bounded work on hostile input)', async (t) => {
  const hostile = 'eyJ-'.repeat(250_000)
  const out = scrubSecrets(hostile)
  t.equal(out.length, MAX_MESSAGE_CHARS + 1)
  t.ok(out.endsWith('…'))
  const leak = `${'x '.repeat(1500)}sk-proj-abcdef123456 ${'y'.repeat(5000)}`
  t.notMatch(scrubSecrets(leak), /sk-proj/, 'a key inside the kept part is still redacted')
})
