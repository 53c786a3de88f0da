import { test } from 'tap'
import { classifyFailure, isContextWindowError, isDeploymentFault, type FailureFacts } from '../../lib/resilience/classify.js'
import { anthropicError } from '../../lib/providers/anthropic/errors.js'
import { geminiError } from '../../lib/providers/gemini/errors.js'
import { openaiError } from '../../lib/providers/openai/index.js'
import type { ErrorInfo } from '../../lib/providers/types.js'

/** The detector sees errors as the adapters map them; feed it their real output. */
const asSeen = (info: ErrorInfo) => ({ statusCode: info.status, code: info.code, message: info.message })

test('context window: each provider wording is recognised', async (t) => {
  const openai = openaiError(400, JSON.stringify({
    error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
  }), {})
  t.ok(isContextWindowError(asSeen(openai)), 'OpenAI context_length_exceeded')

  const vllm = openaiError(400, JSON.stringify({
    error: { message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.", type: 'BadRequestError', code: 400 },
  }), {})
  t.equal(vllm.code, '400', 'no useful code: the message decides')
  t.ok(isContextWindowError(asSeen(vllm)), 'vLLM-style message without the code')

  const anthropic = anthropicError(400, JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } }), {})
  t.ok(isContextWindowError(asSeen(anthropic)), 'Anthropic prompt is too long')

  const anthropicLimit = anthropicError(400, JSON.stringify({
    type: 'error', error: { type: 'invalid_request_error', message: 'input length and `max_tokens` exceed context limit: 199000 + 21333 > 200000, decrease input length or `max_tokens` and try again' },
  }), {})
  t.ok(isContextWindowError(asSeen(anthropicLimit)), 'Anthropic input + max_tokens exceed context limit')

  const gemini = geminiError(400, JSON.stringify({
    error: { code: 400, message: 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).', status: 'INVALID_ARGUMENT' },
  }), {})
  t.ok(isContextWindowError(asSeen(gemini)), 'Gemini INVALID_ARGUMENT token count')
})

test('context window: other errors are not mistaken for it', async (t) => {
  const bad = openaiError(400, JSON.stringify({ error: { message: 'bad temperature', type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } }), {})
  t.notOk(isContextWindowError(asSeen(bad)), 'an ordinary 400')
  const outputLimit = anthropicError(400, JSON.stringify({
    type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for claude-x' },
  }), {})
  t.notOk(isContextWindowError(asSeen(outputLimit)), 'an output-token limit is not the context window')
  t.notOk(isContextWindowError({ statusCode: 500, code: null, message: "This model's maximum context length is 8192 tokens" }), 'never for a 5xx')
  t.notOk(isContextWindowError({ statusCode: 429, code: 'rate_limit_exceeded', message: 'Rate limit reached for tokens per min' }), 'a token rate limit')
  const geminiOther = geminiError(400, JSON.stringify({ error: { code: 400, message: 'Invalid value at contents[0].role', status: 'INVALID_ARGUMENT' } }), {})
  t.notOk(isContextWindowError(asSeen(geminiOther)), 'another Gemini INVALID_ARGUMENT')
  t.ok(isContextWindowError({ statusCode: 502, code: 'context_length_exceeded', message: 'x' }), 'the explicit code wins whatever the status')
})

const facts = (kind: FailureFacts['kind'], status: number, code: string | null = null, message = 'boom', statusCode = status || 502): FailureFacts => ({
  kind, status, error: { statusCode, code, message },
})

test('what the engine does after a failed attempt', async (t) => {
  for (const status of [408, 429, 500, 502, 503, 504, 529]) t.equal(classifyFailure(facts('http', status)), 'retry', `${status} is retried`)
  t.equal(classifyFailure(facts('http', 400, 'overloaded_error', 'Overloaded', 503)), 'retry', 'Anthropic overloaded (in-band) is retried')
  for (const status of [400, 401, 403, 404, 422]) t.equal(classifyFailure(facts('http', status)), 'stop', `${status} is answered at once`)
  t.equal(classifyFailure(facts('http', 501)), 'next', 'other 5xx: next deployment, no retry')
  t.equal(classifyFailure(facts('http', 409)), 'next')
  t.equal(classifyFailure(facts('http', 402)), 'stop')
  t.equal(classifyFailure(facts('http', 400, 'context_length_exceeded')), 'context_window')
  t.equal(classifyFailure(facts('network', 0)), 'retry')
  t.equal(classifyFailure(facts('timeout', 0)), 'retry')
  t.equal(classifyFailure(facts('bad_response', 502)), 'retry')
  t.equal(classifyFailure(facts('unsupported', 400)), 'next', 'the request cannot be expressed for this provider: try another')
  t.equal(classifyFailure(facts('unconfigured', 0)), 'next')
  t.equal(classifyFailure(facts('client_closed', 0)), 'stop')
})

test('what counts against a deployment', async (t) => {
  t.ok(isDeploymentFault('network', 0))
  t.ok(isDeploymentFault('timeout', 0))
  t.ok(isDeploymentFault('bad_response', 502))
  for (const status of [408, 429, 500, 502, 503, 504, 529]) t.ok(isDeploymentFault('http', status), `${status}`)
  t.ok(isDeploymentFault('http', 200, 'overloaded_error'), 'in-band overloaded')
  for (const status of [400, 401, 403, 404, 413, 422]) t.notOk(isDeploymentFault('http', status), `${status} is the client's`)
  t.notOk(isDeploymentFault('client_closed', 0))
  t.notOk(isDeploymentFault('unsupported', 400))
  t.notOk(isDeploymentFault('unconfigured', 0))
})
