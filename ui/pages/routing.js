// How requests are routed: the strategy (global and per model), the rules,
// and a dry run that shows where a request would go and why.
import { api, enc } from '../lib/api.js'
import { announce, errorBox, field, h, replace, select, table } from '../lib/dom.js'
import { ms, num, usd } from '../lib/format.js'

function describeConditions(c) {
  const parts = []
  if (c.model) parts.push(`model ${c.model}`)
  if (c.keyId) parts.push(`key ${c.keyId}`)
  if (c.tenant) parts.push(`tenant ${c.tenant}`)
  if (c.header) parts.push(`header ${c.header.name}${c.header.equals !== undefined ? ` = ${c.header.equals}` : c.header.matches !== undefined ? ` ~ ${c.header.matches}` : ''}`)
  if (c.metadata) parts.push(`metadata ${c.metadata.key} = ${c.metadata.equals}`)
  if (c.minPromptTokens !== undefined) parts.push(`≥ ${c.minPromptTokens} prompt tokens`)
  if (c.maxPromptTokens !== undefined) parts.push(`≤ ${c.maxPromptTokens} prompt tokens`)
  if (c.stream !== undefined) parts.push(c.stream ? 'streamed' : 'not streamed')
  if (c.hasTools !== undefined) parts.push(c.hasTools ? 'with tools' : 'without tools')
  return parts.length ? parts.join(', ') : 'every request'
}

function describeAction(a) {
  if (a.type === 'model') return `model ${a.model}`
  if (a.type === 'deployments') return `deployments ${a.deploymentIds.join(', ')}`
  return `strategy ${a.strategy}`
}

const triState = () => select([{ value: '', label: 'Any' }, { value: 'true', label: 'Yes' }, { value: 'false', label: 'No' }])
const intOrUndefined = (input) => (input.value === '' ? undefined : Number(input.value))

export default {
  title: 'Routing',
  async render(main, { isAdmin }) {
    const strategyBox = h('div')
    const rulesBox = h('div')
    const dryRunBox = h('div')
    replace(
      main,
      h('h1', null, 'Routing'),
      h('section', { 'aria-labelledby': 'strategy-h' }, h('h2', { id: 'strategy-h' }, 'Strategy'), strategyBox),
      h('section', { 'aria-labelledby': 'rules-h' }, h('h2', { id: 'rules-h' }, 'Rules'), rulesBox),
      h('section', { 'aria-labelledby': 'dry-h' }, h('h2', { id: 'dry-h' }, 'Dry run'), dryRunBox),
    )

    const [state, models] = await Promise.all([api('/admin/routing/strategy'), api('/admin/models')])
    const strategies = state.available

    async function setStrategy(body, what) {
      try {
        const next = await api('/admin/routing/strategy', { method: 'POST', body })
        announce(`${what} set`)
        renderStrategy(next)
      } catch (err) {
        announce(`Not changed: ${err.message}`)
        renderStrategy(await api('/admin/routing/strategy'))
      }
    }

    function renderStrategy(s) {
      const overrides = new Map(s.models.map((m) => [m.model, m.strategy]))
      const global = select(strategies, { value: s.strategy, disabled: !isAdmin, dataset: { key: 'global' } })
      global.addEventListener('change', () => setStrategy({ strategy: global.value }, `Routing strategy ${global.value}`))
      const fallback = select(strategies.filter((x) => x !== 'rules'), { value: s.rulesFallback, disabled: !isAdmin, dataset: { key: 'fallback' } })
      fallback.addEventListener('change', () => setStrategy({ strategy: s.strategy, rulesFallback: fallback.value }, `Rules fallback ${fallback.value}`))
      replace(
        strategyBox,
        h(
          'div',
          { class: 'form' },
          field('Routing strategy', global, 'Applies to every model without its own; takes effect on the next request.'),
          field('Rules fallback', fallback, 'For requests no rule matches while the rules strategy is in force.'),
        ),
        table('Per-model strategy', [
          { label: 'Model', cell: (m) => m.name },
          {
            label: 'Strategy',
            cell: (m) => {
              const own = select([{ value: '', label: `Global (${s.strategy})` }, ...strategies], {
                value: overrides.get(m.name) ?? '',
                disabled: !isAdmin,
                'aria-label': `Routing strategy for ${m.name}`,
                dataset: { key: `model:${m.name}` },
              })
              own.addEventListener('change', () => setStrategy({ model: m.name, strategy: own.value || null }, `Routing strategy for ${m.name}`))
              return own
            },
          },
          { label: 'Deployments', num: true, cell: (m) => num(m.deployments.length) },
        ], models.data, 'No models.'),
      )
    }

    async function renderRules() {
      const rules = (await api('/admin/rules')).data
      const toggle = (r) => {
        const box = h('input', { type: 'checkbox', checked: r.enabled, disabled: !isAdmin, 'aria-label': `Enabled: ${r.name}`, dataset: { key: `rule:${r.id}` } })
        box.addEventListener('change', async () => {
          try {
            await api(`/admin/rules/${enc(r.id)}`, { method: 'PATCH', body: { enabled: box.checked } })
            announce(`Rule ${r.name} ${box.checked ? 'enabled' : 'disabled'}`)
          } catch (err) {
            announce(`Not changed: ${err.message}`)
          }
          await renderRules()
        })
        return box
      }
      const remove = (r) =>
        h('button', {
          type: 'button',
          class: 'danger',
          'aria-label': `Delete rule ${r.name}`,
          onclick: async () => {
            if (!confirm(`Delete the rule "${r.name}"?`)) return
            try {
              await api(`/admin/rules/${enc(r.id)}`, { method: 'DELETE' })
              announce(`Rule ${r.name} deleted`)
            } catch (err) {
              announce(`Not deleted: ${err.message}`)
            }
            await renderRules()
          },
        }, 'Delete')
      replace(
        rulesBox,
        h('p', { class: 'muted' }, 'Evaluated in order while the rules strategy is in force (globally or for the model); the first match decides.'),
        table('Rules in evaluation order', [
          { label: '#', num: true, cell: (r) => String(r.position) },
          { label: 'Name', cell: (r) => r.name },
          { label: 'When', cell: (r) => describeConditions(r.conditions) },
          { label: 'Then', cell: (r) => describeAction(r.action) },
          { label: 'Enabled', cell: toggle },
          ...(isAdmin ? [{ label: 'Actions', cell: remove }] : []),
        ], rules, 'No rules.'),
        isAdmin ? ruleForm() : null,
      )
    }

    function ruleForm() {
      const name = h('input', { required: true, maxlength: 200 })
      const model = h('input', { placeholder: 'gpt-* or a model name' })
      const tenant = h('input')
      const keyId = h('input')
      const headerName = h('input')
      const headerValue = h('input', { placeholder: 'value or glob' })
      const stream = triState()
      const tools = triState()
      const minTokens = h('input', { type: 'number', min: 0, inputmode: 'numeric' })
      const maxTokens = h('input', { type: 'number', min: 0, inputmode: 'numeric' })
      const actionType = select([{ value: 'strategy', label: 'Use a strategy' }, { value: 'model', label: 'Route to a model' }, { value: 'deployments', label: 'Route to deployments' }])
      const targetStrategy = select(strategies.filter((x) => x !== 'rules'))
      const targetModel = select(models.data.map((m) => m.name))
      const targetDeployments = h('input', { placeholder: 'id, id' })
      const targets = {
        strategy: field('Strategy', targetStrategy),
        model: field('Target model', targetModel),
        deployments: field('Deployment ids', targetDeployments, 'Comma-separated, tried in this order'),
      }
      const showTarget = () => {
        for (const [type, el] of Object.entries(targets)) el.hidden = type !== actionType.value
      }
      actionType.addEventListener('change', showTarget)
      showTarget()
      const result = h('div')
      const form = h(
        'form',
        {
          onsubmit: async (e) => {
            e.preventDefault()
            const conditions = {}
            if (model.value) conditions.model = model.value
            if (tenant.value) conditions.tenant = tenant.value
            if (keyId.value) conditions.keyId = keyId.value
            if (headerName.value) conditions.header = { name: headerName.value, ...(headerValue.value ? { matches: headerValue.value } : {}) }
            if (stream.value) conditions.stream = stream.value === 'true'
            if (tools.value) conditions.hasTools = tools.value === 'true'
            if (minTokens.value !== '') conditions.minPromptTokens = intOrUndefined(minTokens)
            if (maxTokens.value !== '') conditions.maxPromptTokens = intOrUndefined(maxTokens)
            const type = actionType.value
            const action =
              type === 'strategy'
                ? { type, strategy: targetStrategy.value }
                : type === 'model'
                  ? { type, model: targetModel.value }
                  : { type, deploymentIds: targetDeployments.value.split(',').map((s) => s.trim()).filter(Boolean) }
            try {
              await api('/admin/rules', { method: 'POST', body: { name: name.value, conditions, action } })
              announce(`Rule ${name.value} created`)
              await renderRules()
            } catch (err) {
              replace(result, errorBox(err))
            }
          },
        },
        h('h3', null, 'New rule'),
        h(
          'div',
          { class: 'form' },
          field('Name', name),
          field('Model is', model),
          field('Tenant is', tenant),
          field('Key id is', keyId),
          field('Header name', headerName),
          field('Header matches', headerValue),
          field('Streamed', stream),
          field('Has tools', tools),
          field('Min prompt tokens', minTokens),
          field('Max prompt tokens', maxTokens),
          field('Action', actionType),
          Object.values(targets),
        ),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create rule')),
        result,
      )
      return form
    }

    function dryRunForm() {
      const model = select(models.data.map((m) => m.name))
      const message = h('textarea', { rows: 3, class: 'short' }, 'Hello')
      const stream = h('input', { type: 'checkbox' })
      const maxTokens = h('input', { type: 'number', min: 1, inputmode: 'numeric' })
      const key = h('input', { type: 'password', autocomplete: 'off' })
      const result = h('div', { 'aria-live': 'polite' })
      return h(
        'form',
        {
          onsubmit: async (e) => {
            e.preventDefault()
            const request = { model: model.value, messages: [{ role: 'user', content: message.value }], ...(stream.checked ? { stream: true } : {}), ...(maxTokens.value ? { max_tokens: Number(maxTokens.value) } : {}) }
            try {
              const r = await api('/admin/routing/test', { method: 'POST', body: { request, ...(key.value ? { key: key.value } : {}) } })
              replace(
                result,
                h('p', null, h('strong', null, 'Strategy: '), `${r.strategy} (${r.strategySource}${r.rule ? `, rule "${r.rule.name}"` : ''})`),
                h('p', null, h('strong', null, 'Why: '), r.why),
                table('Candidates, in the order they would be tried', [
                  { label: 'Rank', num: true, cell: (c) => String(c.rank) },
                  { label: 'Deployment', cell: (c) => h('code', null, c.deploymentId) },
                  { label: 'Est. cost', num: true, cell: (c) => usd(c.estimatedCostUsd) },
                  { label: 'Latency (EMA)', num: true, cell: (c) => ms(c.latency?.emaMs) },
                  { label: 'In flight', num: true, cell: (c) => num(c.inFlight) },
                  { label: 'Reason', cell: (c) => c.reason },
                ], r.candidates, 'No deployment is available.'),
                r.excluded.length ? h('p', null, h('strong', null, 'Left out: '), r.excluded.map((x) => `${x.id} (${x.reason})`).join('; ')) : null,
              )
            } catch (err) {
              replace(result, errorBox(err))
            }
          },
        },
        h(
          'div',
          { class: 'form' },
          h('div', { class: 'wide' }, field('Message', message)),
          field('Model', model),
          field('Max tokens', maxTokens),
          field('Gateway key (optional)', key, 'Evaluates rules and permissions as this key'),
          field('Streamed', stream),
        ),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Run')),
        result,
      )
    }

    renderStrategy(state)
    replace(dryRunBox, dryRunForm())
    try {
      await renderRules()
    } catch (err) {
      replace(rulesBox, errorBox(err))
    }
  },
}
