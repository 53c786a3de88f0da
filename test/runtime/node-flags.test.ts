// `npm start` (scripts/start.sh): the gateway gets --single-threaded-gc when
// it may run on one CPU only, runs in the launcher's own process (exec: same
// pid, signals reach it directly) and serves.
import { test } from 'tap'
import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { readFileSync } from 'node:fs'
import { request } from 'undici'
import { GATEWAY_ENV_DEFAULTS, gatewayNodeFlags, launchWords, SINGLE_THREADED_GC, withGatewayEnvDefaults } from '../../lib/runtime/node-flags.js'
import { tempSqliteUrl } from '../helpers/app.js'
import { masterAuth, START_SH, startGatewayProcess } from '../helpers/process.js'

test('gatewayNodeFlags: single-threaded GC on one CPU only', async (t) => {
  t.same(gatewayNodeFlags(1), [SINGLE_THREADED_GC])
  t.same(gatewayNodeFlags(0), [SINGLE_THREADED_GC], 'a nonsensical count of 0 is treated as one CPU')
  t.same(gatewayNodeFlags(2), [])
  t.same(gatewayNodeFlags(64), [])
  t.same(gatewayNodeFlags(Number.NaN), [], 'an unknown count keeps V8 defaults')
})

test('withGatewayEnvDefaults: fills MALLOC_ARENA_MAX only where unset or empty', async (t) => {
  t.equal(withGatewayEnvDefaults({}).MALLOC_ARENA_MAX, GATEWAY_ENV_DEFAULTS.MALLOC_ARENA_MAX)
  t.equal(withGatewayEnvDefaults({ MALLOC_ARENA_MAX: '' }).MALLOC_ARENA_MAX, GATEWAY_ENV_DEFAULTS.MALLOC_ARENA_MAX)
  t.equal(withGatewayEnvDefaults({ MALLOC_ARENA_MAX: '8' }).MALLOC_ARENA_MAX, '8', "the operator's value wins")
  const env = { A: '1' }
  withGatewayEnvDefaults(env)
  t.same(env, { A: '1' }, 'the input is not changed')
})

test('launchWords: missing environment defaults, node, then the flags', async (t) => {
  t.same(launchWords(1, {}), ['MALLOC_ARENA_MAX=2', 'node', SINGLE_THREADED_GC])
  t.same(launchWords(4, { MALLOC_ARENA_MAX: '8' }), ['node'], "the operator's value is left to the inherited environment")
})

const gateway = { providers: [{ name: 'm', type: 'mock' }], models: [{ name: 'echo', deployments: [{ provider: 'm' }] }] }

/** Node's argv of a running process, from /proc. */
function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
}

interface Launched {
  argv: string[]
  /** The gateway process's environment, from /proc. */
  environ: Record<string, string>
  status: number
  exitCode: number | null
}

/** Starts the gateway with `command`, reads its argv from /proc, sends one /v1 request, stops it with SIGTERM. */
async function launch(t: { teardown(fn: () => unknown): void }, command: string[], env?: Record<string, string>): Promise<Launched> {
  const gw = await startGatewayProcess(t, { databaseUrl: tempSqliteUrl(t), gateway, command, env })
  const argv = cmdline(gw.proc.pid!)
  const environ = Object.fromEntries(
    readFileSync(`/proc/${gw.proc.pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  )
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: masterAuth,
    body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'hi' }] }),
  })
  await res.body.dump()
  return { argv, environ, status: res.statusCode, exitCode: await gw.stop('SIGTERM') }
}

const hasProc = (() => {
  try {
    readFileSync('/proc/self/cmdline')
    return true
  } catch {
    return false
  }
})()
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0

test('npm start on one CPU (taskset -c 0) runs the gateway with single-threaded GC', { skip: !hasProc ? 'needs /proc (Linux)' : !hasTaskset ? 'taskset (util-linux) not available' : false }, async (t) => {
  const { argv, environ, status, exitCode } = await launch(t, ['taskset', '-c', '0', 'sh', START_SH])
  t.equal(environ.MALLOC_ARENA_MAX, process.env.MALLOC_ARENA_MAX || GATEWAY_ENV_DEFAULTS.MALLOC_ARENA_MAX, 'the launched gateway has the malloc arena default')
  t.ok(argv.some((a) => a.endsWith('dist/server.js')), `the spawned pid is the gateway itself (exec, no parent shell): ${argv.join(' ')}`)
  t.ok(argv.includes(SINGLE_THREADED_GC), `${SINGLE_THREADED_GC} given`)
  t.equal(status, 200, 'serves /v1')
  t.equal(exitCode, 0, 'SIGTERM reaches the gateway and it exits cleanly')
})

test('npm start on several CPUs keeps V8 defaults', { skip: !hasProc ? 'needs /proc (Linux)' : availableParallelism() < 2 ? 'this process may use one CPU only' : false }, async (t) => {
  const { argv, environ, status, exitCode } = await launch(t, ['sh', START_SH], { MALLOC_ARENA_MAX: '4' })
  t.equal(environ.MALLOC_ARENA_MAX, '4', "an operator's MALLOC_ARENA_MAX is kept")
  t.ok(argv.some((a) => a.endsWith('dist/server.js')), `the spawned pid is the gateway itself: ${argv.join(' ')}`)
  t.notOk(argv.includes(SINGLE_THREADED_GC), `no ${SINGLE_THREADED_GC}`)
  t.equal(status, 200, 'serves /v1')
  t.equal(exitCode, 0, 'SIGTERM reaches the gateway and it exits cleanly')
})
