// The real `npm run token -- ... --ui` (the compiled script): its printed
// link signs a browser in, once. Needs dist/ (npm test builds it first).
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { promisify } from 'node:util'
import { startMockOpenAI } from '../mocks/openai.js'
import { listenTestApp, openaiConfig, testEnv } from '../helpers/app.js'

const run = promisify(execFile)
const root = new URL('../../', import.meta.url)
const script = new URL('dist/scripts/token.js', root)
const sources = ['scripts/token.ts', 'lib/ui/link-args.ts', 'lib/ui/session.ts'].map((f) => new URL(f, root))
const stale = !existsSync(script) || sources.some((s) => statSync(s).mtimeMs > statSync(script).mtimeMs)

test('npm run token -- --ui prints a link that signs in once', { skip: stale && 'dist/ is missing or older than the sources: run `npx tsc -p tsconfig.json` (npm test does)' }, async (t) => {
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const { url } = await listenTestApp(t, { gateway: openaiConfig(up.url) })
  const env = { PATH: process.env.PATH, JWT_SECRET: testEnv('file:x').JWT_SECRET }
  const { stdout } = await run(process.execPath, [script.pathname, '--sub', 'ann', '--role', 'viewer', '--ui', '--base-url', url], { env, cwd: '/' })
  const link = stdout.trim()
  t.match(link, new RegExp(`^${url}/ui/#login=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`))
  const token = link.split('#login=')[1]
  const signIn = () => fetch(`${url}/ui/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
  const first = await signIn()
  t.equal(first.status, 200)
  t.match(await first.json(), { signedIn: true, sub: 'ann', role: 'viewer' })
  t.equal((await signIn()).status, 401, 'a second use is refused')

  const defaults = await run(process.execPath, [script.pathname, '--sub', 'ann', '--role', 'admin', '--ui'], { env: { ...env, PORT: '9123' }, cwd: '/' })
  t.match(defaults.stdout.trim(), /^http:\/\/127\.0\.0\.1:9123\/ui\/#login=/, 'default base: this host and PORT')
  const tooLong = await run(process.execPath, [script.pathname, '--sub', 'ann', '--role', 'admin', '--ui', '--ttl', '2h'], { env, cwd: '/' }).catch((e: { code: number; stderr: string }) => e)
  t.equal((tooLong as { code: number }).code, 2)
  t.match((tooLong as { stderr: string }).stderr, /at most 60 minutes/)
})
