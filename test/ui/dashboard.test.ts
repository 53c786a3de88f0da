// The dashboard in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core), against a gateway listening on loopback with a mock
// OpenAI upstream. Saves a screenshot of every page into .artifacts/screenshots/
// (gitignored), so a test run leaves the tree clean. To refresh the ones the
// README shows, in docs/screenshots/:
//   UPDATE_SCREENSHOTS=1 npx tap test/ui/dashboard.test.ts
import t from 'tap'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { startMockOpenAI } from '../mocks/openai.js'
import { parseTokenArgs } from '../../lib/admin/token-args.js'
import { keyPrefix } from '../../lib/keys/keys.js'
import { signInLinkFor, uiLinkOptions } from '../../lib/ui/link-args.js'
import { createLoginToken, jwtCodec, signInLink } from '../../lib/ui/session.js'
import { listenTestApp, MASTER_KEY, testEnv } from '../helpers/app.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SHOTS = fileURLToPath(new URL(process.env.UPDATE_SCREENSHOTS === '1' ? '../../docs/screenshots/' : '../../.artifacts/screenshots/', import.meta.url))
const FAST = 'duo:fast:fast-model'
const CHEAP = 'duo:cheap:cheap-model'

/** Every page: its hash, its heading, and something that shows it has loaded its data. */
const PAGES = [
  { name: 'overview', title: 'Overview', ready: (p: Page) => p.locator('[data-stat="requests"]').waitFor() },
  { name: 'deployments', title: 'Deployments', ready: (p: Page) => p.getByText('Deployments (figures over').waitFor() },
  { name: 'routing', title: 'Routing', ready: (p: Page) => p.getByText('Rules in evaluation order').waitFor() },
  { name: 'keys', title: 'Keys', ready: (p: Page) => p.getByText('Gateway keys (the secret').waitFor() },
  { name: 'spend', title: 'Spend', ready: (p: Page) => p.getByText(/^Total: /).waitFor() },
  { name: 'audit', title: 'Audit log', ready: (p: Page) => p.getByText('Changes, newest first').waitFor() },
  { name: 'config', title: 'Configuration', ready: (p: Page) => p.waitForFunction(() => (document.querySelector('textarea[readonly]') as HTMLTextAreaElement | null)?.value.includes('providers')) },
]

if (!existsSync(CHROMIUM)) {
  t.test('the dashboard in Chromium', { skip: `no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` installs it (or set CHROMIUM_PATH)` }, async () => {})
} else {
  // One browser and one gateway for the whole file; Chromium on a busy machine is slow to start.
  t.setTimeout(300_000)
  const { chromium } = await import('playwright-core')
  const up = await startMockOpenAI()
  t.teardown(() => up.close())
  const { app, url } = await listenTestApp(t, {
    gateway: {
      providers: [
        { name: 'fast', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'k' },
        { name: 'cheap', type: 'openai', baseUrl: `${up.url}/v1`, apiKey: 'k' },
      ],
      models: [
        {
          name: 'duo',
          deployments: [
            { provider: 'fast', model: 'fast-model', pricing: { input: 10, output: 30 } },
            { provider: 'cheap', model: 'cheap-model', pricing: { input: 0.1, output: 0.2 } },
          ],
        },
      ],
      routing: { strategy: 'model' },
    },
  })
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Each launch gets its own fresh temporary profile (user-data dir), removed on close.
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(() => browser.close())
  // A fresh folder, so `screenshot of <page>` below cannot pass on a file from an earlier run.
  if (process.env.UPDATE_SCREENSHOTS !== '1') rmSync(SHOTS, { recursive: true, force: true })
  mkdirSync(SHOTS, { recursive: true })

  let sent = 0
  /** A chat completion through /v1, as an application would send it. */
  const chat = async (key = MASTER_KEY, stream = false) => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'duo', stream, messages: [{ role: 'user', content: 'Hello from the test' }] }),
    })
    await res.text()
    if (key === MASTER_KEY || res.ok) sent++
    return res
  }

  /** A sign-in link made the way `npm run token -- --sub NAME --role ROLE --ui --base-url URL` makes it. */
  const printLink = (role: 'admin' | 'viewer', sub: string) => {
    const env = testEnv('file:unused')
    const ui = uiLinkOptions(['--sub', sub, '--role', role, '--ui', '--base-url', url], env)
    if (!ui.ok) throw new Error(ui.message)
    const parsed = parseTokenArgs(ui.value.rest, env)
    if (!parsed.ok) throw new Error(parsed.message)
    return signInLinkFor(jwtCodec(app.jwt), parsed.request, ui.value.link!.baseUrl)
  }

  /** A new browser context (no cookies) and page, with its console errors collected. */
  const open = async (width = 1280) => {
    const context: BrowserContext = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true })
    t.teardown(() => context.close())
    const page = await context.newPage()
    const errors: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`))
    return { context, page, errors }
  }

  const signIn = async (role: 'admin' | 'viewer', sub: string, width?: number) => {
    const s = await open(width)
    await s.page.goto(printLink(role, sub))
    await s.page.getByRole('navigation', { name: 'Main' }).waitFor()
    return s
  }

  const visit = async (page: Page, p: (typeof PAGES)[number], via: 'click' | 'goto' = 'click') => {
    if (via === 'click') await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: p.title, exact: true }).click()
    else await page.goto(`${url}/ui/#/${p.name}`)
    await page.getByRole('heading', { level: 1, name: p.title, exact: true }).waitFor()
    await p.ready(page)
  }

  const admin = await signIn('admin', 'ann')

  await t.test('sign-in with a printed link; the link works once and not after it expires', async (t) => {
    const link = printLink('admin', 'ann')
    t.match(link, new RegExp(`^${url}/ui/#login=`), 'a full URL on --base-url, the token in the fragment')
    const first = await open()
    await first.page.goto(link)
    await first.page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
    t.equal(await first.page.evaluate(() => location.hash), '#/overview', 'the token is gone from the address bar')
    t.notMatch(await first.page.evaluate(() => location.href), /login=/)
    const cookie = (await first.context.cookies()).find((c) => c.name === 'switchyard_session')!
    t.ok(cookie, 'a session cookie')
    t.equal(cookie.httpOnly, true)
    t.equal(cookie.sameSite, 'Strict')
    t.equal(cookie.path, '/')
    t.equal(await first.page.evaluate(() => document.cookie.includes('switchyard_session')), false, 'out of reach of page scripts')
    t.same(first.errors, [])

    const again = await open()
    await again.page.goto(link)
    await again.page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor()
    t.match(await again.page.getByRole('alert').textContent(), /already used/)
    t.equal((await again.context.cookies()).filter((c) => c.name === 'switchyard_session').length, 0, 'no session')

    const expired = signInLink(url, createLoginToken(jwtCodec(app.jwt), { sub: 'ann', role: 'admin', now: Date.now() - 11 * 60_000 }))
    const late = await open()
    await late.page.goto(expired)
    await late.page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor()
    t.match(await late.page.getByRole('alert').textContent(), /expired/)

    // Sign-out ends the session: the cookie goes, and a copy of it is refused.
    const copy = cookie.value
    await first.page.getByRole('button', { name: 'Sign out' }).click()
    await first.page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor()
    const replay = await fetch(`${url}/admin/keys`, { headers: { cookie: `switchyard_session=${copy}` } })
    t.equal(replay.status, 401, 'the session is over on the server too')
  })

  await t.test('the overview counts the requests just sent through the API', async (t) => {
    for (let i = 0; i < 4; i++) t.equal((await chat()).status, 200)
    t.equal((await chat(MASTER_KEY, true)).status, 200, 'one streamed')
    await visit(admin.page, PAGES[0]!, 'goto')
    // The page polls every 5 s.
    await admin.page.waitForFunction((n) => document.querySelector('[data-stat="requests"]')?.textContent === String(n), sent, { timeout: 30_000 })
    t.equal(await admin.page.locator('[data-stat="requests"]').textContent(), String(sent))
    t.not(await admin.page.locator('[data-stat="ttftP50"]').textContent(), '–', 'the streamed request has a time to first token')
    t.equal(await admin.page.locator('.chart canvas').count(), 4, 'four uPlot charts')
    const more = 3
    for (let i = 0; i < more; i++) await chat()
    await admin.page.waitForFunction((n) => document.querySelector('[data-stat="requests"]')?.textContent === String(n), sent, { timeout: 30_000 })
    t.pass(`live: ${sent} requests after ${more} more, without a reload`)
  })

  await t.test('switching the strategy in the UI moves the very next request', async (t) => {
    t.equal((await chat()).headers.get('x-switchyard-deployment'), FAST, 'model strategy: the first declared deployment')
    await visit(admin.page, PAGES[2]!)
    const global = admin.page.getByLabel('Routing strategy', { exact: true })
    t.equal(await global.inputValue(), 'model')
    t.equal(await admin.page.getByLabel('Routing strategy for duo').inputValue(), '', 'no per-model override')
    const saved = admin.page.waitForResponse((r) => r.url().endsWith('/admin/routing/strategy') && r.request().method() === 'POST')
    await global.selectOption('cost')
    t.equal((await saved).status(), 200)
    t.equal((await chat()).headers.get('x-switchyard-deployment'), CHEAP, 'cost strategy: the cheap deployment, on the next request')

    // Per model, the same control pattern; the override wins over the global strategy.
    const perModel = admin.page.waitForResponse((r) => r.url().endsWith('/admin/routing/strategy') && r.request().method() === 'POST')
    await admin.page.getByLabel('Routing strategy for duo').selectOption('model')
    t.equal((await perModel).status(), 200)
    t.equal((await chat()).headers.get('x-switchyard-deployment'), FAST)

    // The dry run shows the order and why.
    await admin.page.getByRole('button', { name: 'Run' }).click()
    await admin.page.getByText('Candidates, in the order they would be tried').waitFor()
    t.match(await admin.page.locator('p', { hasText: /^Why: / }).textContent(), /ranked duo:fast:fast-model first/)
  })

  await t.test('a key created in the UI works on /v1, and its secret is never shown again', async (t) => {
    await visit(admin.page, PAGES[3]!)
    await admin.page.getByLabel('Name', { exact: true }).fill('made-in-the-ui')
    await admin.page.getByLabel('Requests per minute').first().fill('600')
    await admin.page.getByRole('button', { name: 'Create key' }).click()
    const secretBox = admin.page.locator('input[data-secret]')
    await secretBox.waitFor()
    const secret = await secretBox.inputValue()
    t.match(secret, /^sk-/)
    t.ok(await admin.page.getByRole('button', { name: 'Copy key' }).isVisible(), 'a copy button')
    const res = await chat(secret)
    t.equal(res.status, 200, 'the secret works on /v1')

    await admin.page.reload()
    await PAGES[3]!.ready(admin.page)
    const everything = await admin.page.evaluate(() => document.documentElement.outerHTML + [...document.querySelectorAll('input, textarea')].map((e) => (e as HTMLInputElement).value).join('\n'))
    t.notMatch(everything, secret, 'after a reload the secret is nowhere on the page')
    const row = admin.page.getByRole('row').filter({ hasText: 'made-in-the-ui' })
    t.match(await row.textContent(), `${keyPrefix(secret)}…`, 'the list shows the prefix only')
    t.match(await row.textContent(), /600/, 'with its limit')
    t.match(await row.textContent(), /active/)
  })

  await t.test('a viewer sees everything and can change nothing', async (t) => {
    const viewer = await signIn('viewer', 'vic')
    await visit(viewer.page, PAGES[2]!)
    t.equal(await viewer.page.getByLabel('Routing strategy', { exact: true }).isDisabled(), true, 'the strategy select is disabled')
    t.equal(await viewer.page.getByLabel('Routing strategy for duo').isDisabled(), true)
    t.equal(await viewer.page.getByRole('button', { name: 'Create rule' }).count(), 0)
    await visit(viewer.page, PAGES[3]!)
    t.equal(await viewer.page.getByRole('button', { name: 'Create key' }).count(), 0, 'no key form')
    t.equal(await viewer.page.getByRole('button', { name: /^Revoke/ }).count(), 0)
    t.ok((await viewer.page.getByRole('row').filter({ hasText: 'made-in-the-ui' }).count()) > 0, 'but the keys are listed')
    await visit(viewer.page, PAGES[1]!)
    const boxes = viewer.page.getByRole('checkbox', { name: /^Enabled: / })
    t.equal(await boxes.count(), 2)
    for (const box of await boxes.all()) t.equal(await box.isDisabled(), true, 'enable/disable is disabled')
    await visit(viewer.page, PAGES[6]!)
    t.equal(await viewer.page.getByRole('button', { name: 'Import' }).count(), 0, 'no import')

    // Replaying the viewer's own requests with its cookie and CSRF token: refused by the server.
    const { csrfToken } = await viewer.page.evaluate(() => fetch('/ui/session').then((r) => r.json()))
    const cookie = (await viewer.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
    const headers = { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' }
    const before = app.modelRouting.table.strategy
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/admin/routing/strategy', { strategy: 'latency' }],
      ['POST', '/admin/keys', { name: 'sneaky' }],
      ['PATCH', `/admin/deployments/${encodeURIComponent(FAST)}`, { enabled: false }],
    ]
    for (const [method, path, body] of writes) {
      const res = await fetch(`${url}${path}`, { method, headers, body: JSON.stringify(body) })
      t.equal(res.status, 403, `${method} ${path}: 403`)
      t.equal(((await res.json()) as { error: { code: string } }).error.code, 'insufficient_role')
    }
    t.equal(app.modelRouting.table.strategy, before, 'nothing changed')
    t.equal((await app.db.apiKey.count({ where: { name: 'sneaky' } })), 0)
    // And an admin's cookie without the CSRF token (what a forged cross-site request would carry at best).
    const adminCookie = (await admin.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
    const forged = await fetch(`${url}/admin/routing/strategy`, { method: 'POST', headers: { cookie: adminCookie, 'content-type': 'application/json' }, body: '{"strategy":"latency"}' })
    t.equal(forged.status, 403, 'no CSRF token: refused')
    t.same(viewer.errors, [], 'no console errors for the viewer')
  })

  await t.test('configuration import shows each problem at its path', async (t) => {
    const s = await signIn('admin', 'ann')
    await visit(s.page, PAGES[6]!, 'goto')
    await s.page.getByLabel('YAML to import').fill('providers:\n  - name: bad\n    type: openai\n    baseUrl: "http://x/v1?y=1"\nmodels: []\n')
    await s.page.getByRole('button', { name: 'Import' }).click()
    const alert = s.page.getByRole('alert')
    await alert.waitFor()
    t.match(await alert.textContent(), /Not imported/)
    const path = alert.locator('code').first()
    t.equal(await path.textContent(), 'providers[0].baseUrl', 'the path, set apart')
  })

  await t.test('the spend page charts the days and downloads CSV', async (t) => {
    await visit(admin.page, PAGES[4]!)
    t.equal(await admin.page.locator('.chart canvas').count(), 1)
    const download = admin.page.waitForEvent('download')
    await admin.page.getByRole('link', { name: 'Download CSV' }).click()
    const file = await (await download).path()
    const csv = readFileSync(file, 'utf8').split('\r\n')
    t.equal(csv[0], 'Key,Requests,Prompt tokens,Completion tokens,Cost (USD)')
    t.ok(csv.some((l) => l.startsWith('made-in-the-ui,1,')), 'the key made in the UI with its one request')
  })

  await t.test('every page: no console errors, works by keyboard, screenshots', async (t) => {
    // History for the overview screenshot: the last hour, generated (the test cannot wait an hour).
    const now = Date.now()
    for (let m = 59; m >= 1; m--) {
      for (let i = 0; i < 20 + Math.round(15 * Math.sin(m / 6)); i++) {
        app.traffic.record({ at: now - m * 60_000, status: i % 37 === 0 ? 502 : 200, durationMs: 80 + ((i * 37) % 120), ttftMs: i % 3 === 0 ? 30 + (i % 20) : undefined, costUsd: 0.0004 })
      }
    }
    const s = await signIn('admin', 'ann')
    for (const p of PAGES) {
      await visit(s.page, p)
      t.equal(await s.page.locator('nav a[aria-current="page"]').textContent(), p.title, `${p.name}: the nav marks the page`)
      await s.page.screenshot({ path: `${SHOTS}${p.name}.png`, fullPage: true })
      t.ok(existsSync(`${SHOTS}${p.name}.png`), `screenshot of ${p.name}`)
    }
    t.same([...s.errors, ...admin.errors], [], 'no console errors or page errors on any page')

    // Keyboard: skip link first, then the nav; Enter follows a link; focus is visible.
    await s.page.goto(`${url}/ui/#/overview`)
    await s.page.reload()
    await PAGES[0]!.ready(s.page)
    await s.page.keyboard.press('Tab')
    t.equal(await s.page.evaluate(() => document.activeElement?.textContent), 'Skip to content')
    let reached = ''
    for (let i = 0; i < 12 && reached !== 'Keys'; i++) {
      await s.page.keyboard.press('Tab')
      reached = (await s.page.evaluate(() => document.activeElement?.textContent)) ?? ''
    }
    t.equal(reached, 'Keys', 'the nav is reachable by Tab')
    const outline = await s.page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)
    t.not(outline, 'none', 'the focused link has a visible outline')
    await s.page.keyboard.press('Enter')
    await s.page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor()
    t.pass('Enter on a nav link opens the page')
    // Every form control has an accessible name.
    for (const p of PAGES) {
      await visit(s.page, p)
      const unnamed = await s.page.evaluate(() =>
        [...document.querySelectorAll('main input, main select, main textarea, main button')]
          .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label') && !(el.tagName === 'BUTTON' && el.textContent?.trim()))
          .map((el) => el.outerHTML.slice(0, 80)),
      )
      t.same(unnamed, [], `${p.name}: every control has a label`)
    }
  })

  await t.test('375 px wide: no horizontal scroll, the nav still works', async (t) => {
    const s = await signIn('admin', 'ann', 375)
    for (const p of PAGES) {
      await visit(s.page, p)
      const width = await s.page.evaluate(() => document.scrollingElement!.scrollWidth)
      // What sticks out, to fix it when this fails.
      const outside = await s.page.evaluate(() =>
        [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > 375 && (!e.closest('.scroll') || getComputedStyle(e).position === 'absolute'))
          .slice(0, 5)
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
      )
      t.ok(width <= 375, `${p.name}: scrollWidth ${width} <= 375`, { outside })
    }
    const links = await s.page.getByRole('navigation', { name: 'Main' }).getByRole('link').all()
    for (const link of links) {
      const box = (await link.boundingBox())!
      t.ok(box.x >= 0 && box.x + box.width <= 375, `${await link.textContent()} is on screen`)
    }
    await visit(s.page, PAGES[0]!)
    await s.page.screenshot({ path: `${SHOTS}overview-375.png`, fullPage: false })
    t.same(s.errors, [])
  })
}
