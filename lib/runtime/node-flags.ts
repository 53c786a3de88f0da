// The Node flags `npm start` runs the gateway with (scripts/start.sh asks
// scripts/node-flags.ts, which asks this). Pure: the caller passes the number
// of CPUs the process may run on (os.availableParallelism(), which follows the
// CPU affinity mask, e.g. `taskset -c 1`).
//
// On one CPU, V8's garbage collector helpers (concurrent marking, parallel
// scavenge and compaction) do not run beside the request thread: they take
// turns with it on the same core, so every mark-compact stretches requests
// for its whole marking phase and the main thread waits for helpers that are
// not scheduled. `--single-threaded-gc` does the same work on the request
// thread in short incremental steps instead. Measured with
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
 * ignore it. scripts/start.sh sets the same value; a test checks they agree.
 */
export const GATEWAY_ENV_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '2' })

/** `env` plus the defaults above where `env` does not set them. */
export function withGatewayEnvDefaults(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env }
  for (const [k, v] of Object.entries(GATEWAY_ENV_DEFAULTS)) if (out[k] === undefined || out[k] === '') out[k] = v
  return out
}
