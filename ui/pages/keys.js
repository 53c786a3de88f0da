// Gateway keys: create (the secret is shown once), revoke, limits and
// budgets, and what each key spent this month.
import { api, enc } from '../lib/api.js'
import { announce, errorBox, field, h, replace, table } from '../lib/dom.js'
import { num, time, usd } from '../lib/format.js'

const requests = (n) => `${num(n)} request${n === 1 ? '' : 's'}`
const list = (input) => input.value.split(',').map((s) => s.trim()).filter(Boolean)
const numberOrNull = (input) => (input.value === '' ? null : Number(input.value))

/** Inputs for the limits a key carries; `key` fills them for an edit. */
function limitInputs(key) {
  return {
    rpmLimit: h('input', { type: 'number', min: 1, step: 1, inputmode: 'numeric', value: key?.rpmLimit ?? '' }),
    tpmLimit: h('input', { type: 'number', min: 1, step: 1, inputmode: 'numeric', value: key?.tpmLimit ?? '' }),
    budgetDailyUsd: h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal', value: key?.budgetDailyUsd ?? '' }),
    budgetMonthlyUsd: h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal', value: key?.budgetMonthlyUsd ?? '' }),
  }
}
const limitFields = (i) => [
  field('Requests per minute', i.rpmLimit, 'Empty: no limit'),
  field('Tokens per minute', i.tpmLimit, 'Empty: no limit'),
  field('Daily budget (USD)', i.budgetDailyUsd, 'Empty: none'),
  field('Monthly budget (USD)', i.budgetMonthlyUsd, 'Empty: none'),
]
const limitValues = (i) => Object.fromEntries(Object.entries(i).map(([k, input]) => [k, numberOrNull(input)]))

export default {
  title: 'Keys',
  async render(main, { isAdmin }) {
    const secretBox = h('div')
    const listBox = h('div')
    replace(
      main,
      h('h1', null, 'Keys'),
      secretBox,
      isAdmin ? h('section', { 'aria-labelledby': 'new-key-h' }, h('h2', { id: 'new-key-h' }, 'New key'), createForm()) : null,
      h('section', { 'aria-labelledby': 'keys-h' }, h('h2', { id: 'keys-h' }, 'All keys'), listBox),
    )

    function showSecret(created) {
      const value = h('input', { readonly: true, value: created.key, 'aria-label': `Secret of key ${created.name}`, dataset: { secret: '' } })
      const copied = h('span', { class: 'muted', 'aria-live': 'polite' })
      replace(
        secretBox,
        h(
          'section',
          { class: 'secret', 'aria-labelledby': 'secret-h' },
          h('h2', { id: 'secret-h' }, `Key "${created.name}" created`),
          h('p', null, 'Copy the key now: it is shown this once and never again (only its hash is stored).'),
          value,
          h(
            'div',
            { class: 'actions' },
            h('button', {
              type: 'button',
              class: 'primary',
              onclick: async () => {
                try {
                  await navigator.clipboard.writeText(created.key)
                  copied.textContent = 'Copied.'
                } catch {
                  // No clipboard access (e.g. not a secure context): select it for Ctrl+C.
                  value.select()
                  copied.textContent = 'Selected: press Ctrl+C to copy.'
                }
              },
            }, 'Copy key'),
            h('button', { type: 'button', onclick: () => replace(secretBox) }, 'Done'),
            copied,
          ),
        ),
      )
      value.focus()
      value.select()
    }

    function createForm() {
      const name = h('input', { required: true, maxlength: 200, autocomplete: 'off' })
      const tenant = h('input', { autocomplete: 'off' })
      const models = h('input', { placeholder: 'mock-*, gpt-4o', autocomplete: 'off' })
      const override = h('input', { type: 'checkbox' })
      const limits = limitInputs()
      const result = h('div')
      const form = h(
        'form',
        {
          onsubmit: async (e) => {
            e.preventDefault()
            try {
              const created = await api('/admin/keys', {
                method: 'POST',
                body: {
                  name: name.value,
                  ...(tenant.value ? { tenant: tenant.value } : {}),
                  allowedModels: list(models),
                  allowStrategyOverride: override.checked,
                  ...limitValues(limits),
                },
              })
              form.reset()
              replace(result)
              showSecret(created)
              await renderList()
            } catch (err) {
              replace(result, errorBox(err))
            }
          },
        },
        h(
          'div',
          { class: 'form' },
          field('Name', name),
          field('Tenant', tenant),
          field('Allowed models', models, 'Comma-separated names or globs; empty: all'),
          limitFields(limits),
          field('May choose the strategy (x-switchyard-strategy)', override),
        ),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create key')),
        result,
      )
      return form
    }

    function editLimits(k) {
      const limits = limitInputs(k)
      const result = h('div')
      return h(
        'details',
        null,
        h('summary', null, 'Edit limits', h('span', { class: 'visually-hidden' }, ` of ${k.name}`)),
        h(
          'form',
          {
            onsubmit: async (e) => {
              e.preventDefault()
              try {
                await api(`/admin/keys/${enc(k.id)}`, { method: 'PATCH', body: limitValues(limits) })
                announce(`Limits of ${k.name} saved`)
                await renderList()
              } catch (err) {
                replace(result, errorBox(err))
              }
            },
          },
          h('div', { class: 'form' }, limitFields(limits)),
          h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save limits')),
          result,
        ),
      )
    }

    const revoke = (k) =>
      h('button', {
        type: 'button',
        class: 'danger',
        'aria-label': `Revoke key ${k.name}`,
        onclick: async () => {
          if (!confirm(`Revoke the key "${k.name}"? Requests with it are refused from now on.`)) return
          try {
            await api(`/admin/keys/${enc(k.id)}`, { method: 'DELETE' })
            announce(`Key ${k.name} revoked`)
          } catch (err) {
            announce(`Not revoked: ${err.message}`)
          }
          await renderList()
        },
      }, 'Revoke')

    async function renderList() {
      try {
        const [keys, usage] = await Promise.all([api('/admin/keys'), api('/admin/usage?groupBy=key')])
        const spend = new Map(usage.data.map((u) => [u.key, u]))
        const budgets = new Map(usage.budgets.filter((b) => b.scope === 'key').map((b) => [`${b.id}:${b.window}`, b]))
        const budget = (k, window, limit) => {
          const b = budgets.get(`${k.id}:${window}`)
          return b ? `${usd(b.spentUsd)} of ${usd(limit)}` : usd(limit)
        }
        replace(
          listBox,
          table('Gateway keys (the secret itself is never shown again)', [
            { label: 'Name', cell: (k) => k.name },
            { label: 'Prefix', cell: (k) => h('code', { dataset: { prefix: '' } }, `${k.prefix}…`) },
            { label: 'Tenant', cell: (k) => k.tenant ?? '–' },
            { label: 'Models', cell: (k) => (k.allowedModels.length ? k.allowedModels.join(', ') : 'all') },
            { label: 'Limits', cell: (k) => (k.rpmLimit || k.tpmLimit ? [k.rpmLimit ? `${num(k.rpmLimit)} RPM` : null, k.rpmLimit && k.tpmLimit ? ', ' : null, k.tpmLimit ? `${num(k.tpmLimit)} TPM` : null] : 'none') },
            { label: 'Budgets', cell: (k) => (k.budgetDailyUsd === null && k.budgetMonthlyUsd === null ? 'none' : [k.budgetDailyUsd !== null ? h('div', null, `day ${budget(k, 'daily', k.budgetDailyUsd)}`) : null, k.budgetMonthlyUsd !== null ? h('div', null, `month ${budget(k, 'monthly', k.budgetMonthlyUsd)}`) : null]) },
            { label: 'This month', num: true, cell: (k) => [h('div', null, usd(spend.get(k.id)?.costUsd ?? 0)), h('div', { class: 'muted' }, requests(spend.get(k.id)?.requests ?? 0))] },
            { label: 'Created', cell: (k) => time(k.createdAt) },
            { label: 'Status', cell: (k) => (k.revokedAt ? h('span', { class: 'badge bad' }, 'revoked') : h('span', { class: 'badge ok' }, 'active')) },
            ...(isAdmin ? [{ label: 'Actions', cell: (k) => (k.revokedAt ? '–' : [editLimits(k), revoke(k)]) }] : []),
          ], keys.data, 'No keys yet.'),
        )
      } catch (err) {
        replace(listBox, errorBox(err))
      }
    }
    await renderList()
  },
}
