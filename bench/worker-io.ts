// The side of a load-generator process (bench/load-worker.ts,
// bench/traffic-worker.ts) that talks to the harness: the job comes in as
// argv[2] (JSON), exactly one result line (RESULT_MARK + JSON) goes out on
// stdout, problems go to stderr, and the process never outlives its job by much.
// The harness side is runWorker() in bench/stack.ts (and soak.ts's reader).

export const RESULT_MARK = '@@bench-result@@ '

/**
 * Runs the job given on the command line and prints its result line. Exit
 * code: 0 done, 1 the job failed, 3 it exceeded `limitMs(job)`. `name` starts
 * every message on stderr.
 */
export function workerMain<J extends { kind: string }>(name: string, limitMs: (job: J) => number, run: (job: J) => Promise<unknown>): void {
  const main = async () => {
    const job = JSON.parse(process.argv[2] ?? '') as J
    // Hard stop: the worker never outlives its job by much, whatever happens.
    setTimeout(() => {
      process.stderr.write(`${name}: ${job.kind} job exceeded its time limit, exiting\n`)
      process.exit(3)
    }, limitMs(job)).unref()
    const result = await run(job)
    await new Promise<void>((resolve) => process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`, () => resolve()))
  }
  main().then(
    // Close handles (keep-alive sockets) may linger; the job is done.
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${name} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
      process.exit(1)
    },
  )
}
