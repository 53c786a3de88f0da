// The OpenAI mock upstream (test/mocks/openai.ts) as a process of its own, for
// the benchmarks: `node dist/bench/mock-upstream.js [port]` prints its URL.
// Env knobs (unset = the plain mock):
//   MOCK_FAIL_RATE  0..1, fraction of chat requests answered 500 (deterministic
//                   every-k-th pattern, see MockOpenAIOptions.failRate)
//   MOCK_FAIL_SEED  integer: use a seeded random pattern instead
//   MOCK_DELAY_MS   fixed delay before every answer, ms
//   MOCK_NO_RECORD  set: keep no record of requests (memory stays flat)
import { startMockOpenAI } from '../test/mocks/openai.js'

/** A numeric env knob; exits on a bad value rather than ignoring it. */
function envNumber(name: string, min: number, max: number, integer: boolean): number | undefined {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    console.error(`mock-upstream: ${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}] (got ${JSON.stringify(raw)})`)
    process.exit(1)
  }
  return n
}

const failRate = envNumber('MOCK_FAIL_RATE', 0, 1, false)
const failSeed = envNumber('MOCK_FAIL_SEED', 0, 2 ** 32 - 1, true)
const delayMs = envNumber('MOCK_DELAY_MS', 0, 60_000, true)
const mock = await startMockOpenAI({ port: Number(process.argv[2] ?? 0), failRate, failSeed, delayMs })
if (failRate || delayMs) {
  const pattern = failSeed === undefined ? 'every-k-th' : `seeded random, seed ${failSeed}`
  console.error(`mock-upstream: ${mock.url} fail rate ${failRate ?? 0} (${pattern}), delay ${delayMs ?? 0} ms`)
}
console.log(mock.url)
