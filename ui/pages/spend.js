// Spend by key, model, deployment and day, charted per day, downloadable as CSV.
import { api } from '../lib/api.js'
import { chart } from '../lib/chart.js'
import { toCsv } from '../lib/csv.js'
import { errorBox, field, h, replace, select, table } from '../lib/dom.js'
import { num, usd } from '../lib/format.js'

const iso = (d) => d.toISOString().slice(0, 10)
const GROUPS = [
  { value: 'key', label: 'Key' },
  { value: 'model', label: 'Model' },
  { value: 'deployment', label: 'Deployment' },
  { value: 'day', label: 'Day' },
  { value: 'day,model', label: 'Day and model' },
  { value: 'key,model', label: 'Key and model' },
]
const DIMENSIONS = {
  key: { label: 'Key', value: (r) => r.keyName ?? r.key ?? '(master key)' },
  model: { label: 'Model', value: (r) => r.model },
  deployment: { label: 'Deployment', value: (r) => r.deployment ?? '(none)' },
  day: { label: 'Day', value: (r) => r.day },
}
const SUMS = [
  { label: 'Requests', value: (r) => r.requests, show: num },
  { label: 'Prompt tokens', value: (r) => r.promptTokens, show: num },
  { label: 'Completion tokens', value: (r) => r.completionTokens, show: num },
  { label: 'Cost (USD)', value: (r) => r.costUsd, show: usd },
]

export default {
  title: 'Spend',
  async render(main) {
    const now = new Date()
    const from = h('input', { type: 'date', value: iso(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))) })
    const to = h('input', { type: 'date', value: iso(now) })
    const groupBy = select(GROUPS, { value: 'key' })
    const chartBox = h('div')
    const figure = h('figure', { class: 'chart' }, h('figcaption', null, 'Spend per day (USD)'), chartBox)
    const download = h('a', { href: '#', download: 'spend.csv', class: 'button' }, 'Download CSV')
    const tableBox = h('div')
    let plot
    let csvUrl

    replace(
      main,
      h('h1', null, 'Spend'),
      h(
        'form',
        { class: 'form', onsubmit: (e) => (e.preventDefault(), refresh()) },
        field('From', from, 'UTC day, inclusive'),
        field('To', to, 'UTC day, inclusive'),
        field('Group by', groupBy),
        h('div', null, h('button', { type: 'submit', class: 'primary' }, 'Show')),
      ),
      figure,
      h('div', { class: 'actions' }, download),
      tableBox,
    )
    groupBy.addEventListener('change', () => refresh())

    async function refresh() {
      const range = `from=${from.value}&to=${to.value}`
      try {
        const [grouped, daily] = await Promise.all([api(`/admin/usage?groupBy=${groupBy.value}&${range}`), api(`/admin/usage?groupBy=day&${range}`)])
        // One bar per day of the range, empty days included.
        const days = []
        for (let t = Date.parse(`${from.value}T00:00:00Z`); t <= Date.parse(`${to.value}T00:00:00Z`); t += 86_400_000) days.push(t / 1000)
        const costs = new Map(daily.data.map((r) => [Date.parse(`${r.day}T00:00:00Z`) / 1000, r.costUsd]))
        const data = [days, days.map((d) => costs.get(d) ?? 0)]
        if (plot) plot.update(data)
        else plot = await chart(chartBox, { series: [{ label: 'cost' }], format: usd, bars: true }, data)

        const columns = [...groupBy.value.split(',').map((g) => DIMENSIONS[g]), ...SUMS]
        replace(
          tableBox,
          table(`Spend by ${GROUPS.find((g) => g.value === groupBy.value).label.toLowerCase()}, ${from.value} to ${to.value}`, columns.map((c) => ({
            label: c.label,
            num: Boolean(c.show),
            cell: (r) => (c.show ? c.show(c.value(r)) : c.value(r)),
          })), grouped.data, 'No requests in this range.'),
          h('p', null, `Total: ${num(grouped.totals.requests)} requests, ${usd(grouped.totals.costUsd)}`),
        )
        if (csvUrl) URL.revokeObjectURL(csvUrl)
        csvUrl = URL.createObjectURL(new Blob([toCsv(columns, grouped.data)], { type: 'text/csv' }))
        download.href = csvUrl
        download.download = `switchyard-spend-${groupBy.value.replace(',', '-')}-${from.value}-${to.value}.csv`
      } catch (err) {
        replace(tableBox, errorBox(err))
      }
    }
    await refresh()
    return () => {
      plot?.destroy()
      if (csvUrl) URL.revokeObjectURL(csvUrl)
    }
  },
}
