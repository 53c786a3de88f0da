// The examples run as a user would run them (after the build), and print what they promise.
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

async function example(t: { teardown(fn: () => unknown): void }, file: string, env: Record<string, string> = {}, args: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-example-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const { stdout } = await run(process.execPath, [join(root, 'examples', file), ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: `file:${join(dir, 'db.sqlite')}`, PORT: '0', ...env },
    timeout: 90_000,
  })
  return stdout
}

test('direct', async (t) => {
  const out = await example(t, 'direct.mjs')
  t.match(out, /chat: .+/)
  t.match(out, /stream:.+/)
  t.match(out, /embeddings: 2 vectors/)
  t.match(out, /records: 3/)
})

test('plugin in a host app', async (t) => {
  const out = await example(t, 'plugin.mjs', {}, ['--once'])
  t.match(out, /chat: .+ \| deployment: mock-gpt:mock:mock-gpt-1/)
})

test('router, embedded and direct', async (t) => {
  t.match(await example(t, 'router.mjs', { ROUTER_MODE: 'embedded' }), /embedded: .+/)
  t.match(await example(t, 'router.mjs', { ROUTER_MODE: 'direct' }), /direct: .+/)
})
