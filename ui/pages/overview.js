// Traffic at a glance: the last hour or day, refreshed every few seconds.
import { api } from '../lib/api.js'
import { chart } from '../lib/chart.js'
import { errorBox, field, h, replace, select } from '../lib/dom.js'
import { clock, ms, num, pct, rate, usd } from '../lib/format.js'

const POLL_MS = 5000

const TILES = [
  { key: 'requests', label: (w) => `Requests (${w})`, value: (o) => num(o.totals.requests) },
  { key: 'rps', label: () => 'Requests/s', value: (o) => rate(o.totals.rps) },
  { key: 'errorRate', label: () => 'Error rate', value: (o) => pct(o.totals.errorRate) },
  { key: 'p50', label: () => 'Latency p50', value: (o) => ms(o.totals.p50Ms) },
  { key: 'p95', label: () => 'Latency p95', value: (o) => ms(o.totals.p95Ms) },
  { key: 'ttftP50', label: () => 'TTFT p50', value: (o) => ms(o.totals.ttftP50Ms) },
  { key: 'ttftP95', label: () => 'TTFT p95', value: (o) => ms(o.totals.ttftP95Ms) },
  { key: 'spendToday', label: () => 'Spend today', value: (o) => usd(o.spend.todayUsd) },
  { key: 'spendMonth', label: () => 'Spend this month', value: (o) => usd(o.spend.monthUsd) },
  { key: 'inFlight', label: () => 'In flight', value: (o) => num(o.inFlight) },
]

const CHARTS = [
  { title: 'Requests per second', format: rate, series: [{ label: 'req/s', col: 'rps' }] },
  { title: 'Error rate', format: pct, series: [{ label: 'errors', col: 'errorRate' }] },
  { title: 'Latency', format: ms, series: [{ label: 'p50', col: 'p50Ms' }, { label: 'p95', col: 'p95Ms', dash: [6, 4] }] },
  { title: 'Time to first token', format: ms, series: [{ label: 'p50', col: 'ttftP50Ms' }, { label: 'p95', col: 'ttftP95Ms', dash: [6, 4] }] },
]

export default {
  title: 'Overview',
  async render(main) {
    let span = '1h'
    let timer
    let stopped = false
    const charts = []
    const windowSelect = select([{ value: '1h', label: 'Last hour' }, { value: '24h', label: 'Last 24 hours' }], {
      value: span,
      onchange: () => {
        span = windowSelect.value
        void refresh()
      },
    })
    const tiles = h('dl', { class: 'tiles' })
    const updated = h('p', { class: 'muted' })
    const problem = h('div')
    const figures = CHARTS.map((c) => {
      const plot = h('div')
      return { c, plot, el: h('figure', { class: 'chart' }, h('figcaption', null, c.title), plot) }
    })
    replace(
      main,
      h('h1', null, 'Overview'),
      h('div', { class: 'actions' }, field('Window', windowSelect), updated),
      problem,
      h('h2', { class: 'visually-hidden' }, 'Figures'),
      tiles,
      h('h2', { class: 'visually-hidden' }, 'Charts'),
      h('div', { class: 'charts' }, figures.map((f) => f.el)),
    )

    async function refresh() {
      clearTimeout(timer)
      try {
        const o = await api(`/admin/stats/overview?window=${span}`)
        if (stopped) return
        replace(tiles, TILES.map((t) => h('div', { class: 'tile' }, h('dt', null, t.label(span)), h('dd', { dataset: { stat: t.key } }, t.value(o)))))
        for (const [i, f] of figures.entries()) {
          const data = [o.series.t, ...f.c.series.map((s) => o.series[s.col])]
          if (charts[i]) charts[i].update(data)
          else charts[i] = await chart(f.plot, { series: f.c.series, format: f.c.format }, data)
          if (stopped) return charts[i]?.destroy() // left the page meanwhile
        }
        updated.textContent = `Updated ${clock()}, every ${POLL_MS / 1000} s`
        replace(problem)
      } catch (err) {
        replace(problem, errorBox(err))
      }
      if (!stopped) timer = setTimeout(refresh, POLL_MS)
    }
    await refresh()
    return () => {
      stopped = true
      clearTimeout(timer)
      for (const c of charts) c?.destroy()
    }
  },
}
