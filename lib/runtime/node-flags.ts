// The Node flags and environment `npm start` runs the gateway with
// (scripts/start.sh execs what scripts/node-flags.ts prints from this). Pure: the caller passes the number
// of CPUs the process may run on (os.availableParallelism(), which follows the
// CPU affinity mask, e.g. `taskset -c 1`).
//
// On one CPU, V8's garbage collector helpers (concurrent marking, parallel
// scavenge and compaction) do not run beside the request thread: they take
// turns with it on the same core. In --trace-gc of a gateway on one core,
// mark-compacts ran marking steps of up to 20 ms on the request thread with
// the helpers, and of at most 0.4-1.8 ms with `--single-threaded-gc`, which
// does all the work on the request thread in short incremental steps. Measured with
// bench/profile/rate.sh (500 req/s after a burst and 30 s idle, gateway on one
// core, 3 alternations): client p99 22.7/36.5/39.3 -> 7.3/10.9/10.9 ms, max
// 55/56/81 -> 24/33/30 ms, CPU per request unchanged within the runs' noise.
// With two CPUs or more the helpers run in parallel and are kept. The
// 10-minute soak with the flag was flat (0.44 MB/min, V8 heap 76-94 MB) where
// it had been a saw-tooth up to 244 MB of heap.

/** Flag that keeps all garbage-collection work on the thread that runs JavaScript. */
export const SINGLE_THREADED_GC = '--single-threaded-gc'

/** Node flags for a gateway process that may run on `cpus` CPUs. */
export function gatewayNodeFlags(cpus: number): string[] {
  return Number.isFinite(cpus) && cpus <= 1 ? [SINGLE_THREADED_GC] : []
}

/**
 * Environment `npm start` gives the gateway unless the operator set the
 * variable: glibc's malloc otherwise keeps up to 8 arenas per CPU for the
 * process's threads (V8 platform workers, libuv pool, the usage writer).
 * Two arenas: resident memory 267-269 -> 239-242 MB at 300 req/s with the
 * same CPU per request (bench/profile/rate.sh, alternated twice). Other libcs
 * ignore it.
 */
export const GATEWAY_ENV_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '2' })

/** The defaults above that `env` does not set (unset or empty). */
function missingEnvDefaults(env: NodeJS.ProcessEnv): Array<[string, string]> {
  return Object.entries(GATEWAY_ENV_DEFAULTS).filter(([k]) => env[k] === undefined || env[k] === '')
}

/** `env` plus the defaults above where `env` does not set them. */
export function withGatewayEnvDefaults(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, ...Object.fromEntries(missingEnvDefaults(env)) }
}

/**
 * What scripts/start.sh hands to `env` before the server script, as words:
 * `NAME=value` for each missing default, `node`, then the Node flags.
 */
export function launchWords(cpus: number, env: NodeJS.ProcessEnv): string[] {
  return [...missingEnvDefaults(env).map(([k, v]) => `${k}=${v}`), 'node', ...gatewayNodeFlags(cpus)]
}
