// The dashboard's shell: sign-in (a one-time link's token in the URL
// fragment, traded for a session cookie), the navigation, and one page per
// hash route (#/overview, #/keys, ...).
import { api, onSignedOut, setCsrfToken } from './lib/api.js'
import { errorBox, h, replace } from './lib/dom.js'
import overview from './pages/overview.js'
import deployments from './pages/deployments.js'
import routing from './pages/routing.js'
import keys from './pages/keys.js'
import spend from './pages/spend.js'
import audit from './pages/audit.js'
import config from './pages/config.js'

const PAGES = { overview, deployments, routing, keys, spend, audit, config }
const main = document.getElementById('main')
const nav = document.getElementById('nav')
const who = document.getElementById('who')

let session
let cleanup
let routeSeq = 0

function leavePage() {
  routeSeq++
  cleanup?.()
  cleanup = undefined
}

function showSignIn(message) {
  leavePage()
  session = undefined
  nav.hidden = true
  replace(who)
  document.title = 'Sign in · Switchyard'
  replace(
    main,
    h('h1', null, 'Sign in'),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
    h('p', null, 'The dashboard stores no passwords. On the gateway\'s host, print a one-time sign-in link and open it in this browser:'),
    h('pre', null, h('code', null, 'npm run token -- --sub YOUR_NAME --role admin --ui')),
    h('p', { class: 'muted' }, 'Use --role viewer for read-only access. A link works once, within 10 minutes; the session then lasts 12 hours.'),
  )
}

async function signOut() {
  try {
    await api('/ui/session', { method: 'DELETE' })
  } catch {
    // The cookie is cleared either way.
  }
  showSignIn('Signed out.')
}

async function route(moveFocus) {
  if (!session) return
  const name = location.hash.replace(/^#\/?/, '') || 'overview'
  const page = PAGES[name] ?? PAGES.overview
  leavePage()
  const seq = routeSeq
  for (const a of nav.querySelectorAll('a')) {
    if (a.hash === `#/${name}` || (!PAGES[name] && a.hash === '#/overview')) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  document.title = `${page.title} · Switchyard`
  // Each page draws into its own element: one left before it finished writes nowhere.
  const view = h('div')
  replace(main, view)
  if (moveFocus) main.focus()
  let done
  try {
    done = await page.render(view, { session, isAdmin: session.role === 'admin' })
  } catch (err) {
    replace(view, h('h1', null, page.title), errorBox(err))
  }
  if (seq === routeSeq) cleanup = done
  else done?.()
}

async function start() {
  const login = new URLSearchParams(location.hash.slice(1)).get('login')
  try {
    if (login) {
      // The token leaves the address bar and the history at once.
      history.replaceState(null, '', `${location.pathname}#/overview`)
      session = await api('/ui/session', { method: 'POST', body: { token: login } })
    } else {
      const current = await api('/ui/session')
      if (!current.signedIn) return showSignIn(current.reason)
      session = current
    }
  } catch (err) {
    return showSignIn(err.message)
  }
  setCsrfToken(session.csrfToken)
  nav.hidden = false
  replace(
    who,
    h('span', null, session.sub, ' ', h('span', { class: 'badge' }, session.role === 'admin' ? 'admin' : 'viewer: read-only')),
    h('button', { type: 'button', onclick: signOut }, 'Sign out'),
  )
  await route(false)
}

// A link pasted into an open tab changes the fragment only.
window.addEventListener('hashchange', () => void (location.hash.startsWith('#login=') ? start() : route(true)))
onSignedOut.addEventListener('signed-out', () => showSignIn('Your session has ended: sign in again.'))
void start()
