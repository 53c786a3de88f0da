// Who changed what, when, from what to what; filtered by action, paged by time.
import { api, enc } from '../lib/api.js'
import { errorBox, field, h, replace, select, table } from '../lib/dom.js'
import { time } from '../lib/format.js'

const ACTIONS = ['', 'routing.', 'key.', 'deployment.', 'model.', 'provider.', 'pricing.', 'rule.', 'config.']

const change = (e) =>
  e.before === null && e.after === null
    ? '–'
    : h(
        'details',
        null,
        h('summary', null, 'Show'),
        e.before !== null ? [h('strong', null, 'Before'), h('pre', null, JSON.stringify(e.before, null, 2))] : null,
        e.after !== null ? [h('strong', null, 'After'), h('pre', null, JSON.stringify(e.after, null, 2))] : null,
      )

export default {
  title: 'Audit log',
  async render(main) {
    const action = h('input', { list: 'audit-actions', placeholder: 'e.g. routing.', autocomplete: 'off' })
    const limit = select(['50', '100', '500'], { value: '100' })
    const tableBox = h('div')
    const more = h('button', { type: 'button', hidden: true }, 'Older entries')
    let entries = []

    async function load(append) {
      const before = append && entries.length ? `&before=${enc(entries.at(-1).at)}` : ''
      try {
        const page = await api(`/admin/audit?limit=${limit.value}${action.value ? `&action=${enc(action.value)}` : ''}${before}`)
        entries = append ? [...entries, ...page.data] : page.data
        more.hidden = page.data.length < Number(limit.value)
        replace(
          tableBox,
          table('Changes, newest first', [
            { label: 'When', cell: (e) => time(e.at) },
            { label: 'Who', cell: (e) => e.actor },
            { label: 'Action', cell: (e) => h('code', null, e.action) },
            { label: 'Target', cell: (e) => e.target ?? '–' },
            { label: 'Change', cell: change },
          ], entries, 'No entries.'),
        )
      } catch (err) {
        replace(tableBox, errorBox(err))
      }
    }
    more.addEventListener('click', () => load(true))

    replace(
      main,
      h('h1', null, 'Audit log'),
      h(
        'form',
        { class: 'form', onsubmit: (e) => (e.preventDefault(), load(false)) },
        field('Action starts with', action),
        h('datalist', { id: 'audit-actions' }, ACTIONS.filter(Boolean).map((a) => h('option', { value: a }))),
        field('Entries per page', limit),
        h('div', null, h('button', { type: 'submit', class: 'primary' }, 'Filter')),
      ),
      tableBox,
      h('div', { class: 'actions' }, more),
    )
    await load(false)
  },
}
