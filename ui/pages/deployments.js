// Which deployment is failing: circuit state, latency, load and recent
// errors, with the switch to take one out of rotation.
import { api, enc } from '../lib/api.js'
import { announce, errorBox, h, replace, table } from '../lib/dom.js'
import { clock, ms, num, pct, time } from '../lib/format.js'

const POLL_MS = 10_000
const STATE = { closed: ['ok', 'closed'], half_open: ['warn', 'half-open'], open: ['bad', 'open'] }

export default {
  title: 'Deployments',
  async render(main, { isAdmin }) {
    let timer
    let stopped = false
    const content = h('div')
    const updated = h('p', { class: 'muted' })
    replace(
      main,
      h('h1', null, 'Deployments'),
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => refresh() }, 'Refresh'), updated),
      content,
    )

    async function setEnabled(d, enabled, box) {
      box.disabled = true
      try {
        await api(`/admin/deployments/${enc(d.id)}`, { method: 'PATCH', body: { enabled } })
        announce(`${d.id} ${enabled ? 'enabled' : 'disabled'}`)
      } catch (err) {
        box.checked = !enabled
        announce(`Not changed: ${err.message}`)
      }
      await refresh()
    }

    async function refresh() {
      clearTimeout(timer)
      try {
        const [health, stats] = await Promise.all([api('/admin/health/deployments'), api('/admin/stats/deployments')])
        if (stopped) return
        const byId = new Map(stats.data.map((s) => [s.id, s]))
        const rows = health.data.map((d) => ({ ...d, stats: byId.get(d.id) }))
        const minutes = stats.windowSeconds / 60
        replace(
          content,
          table(`Deployments (figures over the last ${minutes} minutes)`, [
            { label: 'Deployment', cell: (d) => h('code', null, d.id) },
            { label: 'Model', cell: (d) => d.model },
            { label: 'Provider', cell: (d) => d.provider },
            {
              label: 'Circuit',
              cell: (d) => {
                const [kind, text] = STATE[d.state] ?? ['warn', d.state]
                return [h('span', { class: `badge ${kind}` }, text), d.openUntil ? h('div', { class: 'muted' }, `until ${time(d.openUntil)}`) : null]
              },
            },
            { label: 'p50', num: true, cell: (d) => ms(d.stats?.p50Ms) },
            { label: 'p95', num: true, cell: (d) => ms(d.stats?.p95Ms) },
            { label: 'TTFT p50', num: true, cell: (d) => ms(d.stats?.ttftP50Ms) },
            { label: 'In flight', num: true, cell: (d) => num(d.stats?.inFlight ?? 0) },
            { label: 'Attempts', num: true, cell: (d) => num(d.stats?.count ?? 0) },
            { label: 'Errors', num: true, cell: (d) => (d.stats?.count ? `${num(d.stats.errors)} (${pct(d.stats.errorRate)})` : '–') },
            { label: 'Last error', cell: (d) => (d.lastError ? [d.lastError, h('div', { class: 'muted' }, time(d.lastFailureAt))] : '–') },
            {
              label: 'Enabled',
              cell: (d) => {
                const box = h('input', {
                  type: 'checkbox',
                  checked: d.enabled,
                  disabled: !isAdmin,
                  'aria-label': `Enabled: ${d.id}`,
                  dataset: { key: `enabled:${d.id}` },
                })
                box.addEventListener('change', () => setEnabled(d, box.checked, box))
                return box
              },
            },
          ], rows, 'No deployments.'),
          h('h2', null, 'Recent errors'),
          table('Failed upstream attempts on this instance, newest first', [
            { label: 'When', cell: (e) => time(e.at) },
            { label: 'Deployment', cell: (e) => h('code', null, e.deploymentId) },
            { label: 'Status', num: true, cell: (e) => (e.status ? String(e.status) : 'no answer') },
            { label: 'Reason', cell: (e) => e.reason },
          ], stats.recentErrors, 'No errors recorded.'),
        )
        updated.textContent = `Updated ${clock()}`
      } catch (err) {
        replace(content, errorBox(err))
      }
      if (!stopped) timer = setTimeout(refresh, POLL_MS)
    }
    await refresh()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  },
}
