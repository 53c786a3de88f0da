// The routing configuration as YAML: export it, import a document, and see
// each validation problem at its path.
import { api } from '../lib/api.js'
import { errorBox, field, h, replace, select } from '../lib/dom.js'
import { splitProblems } from '../lib/problems.js'

export default {
  title: 'Configuration',
  async render(main, { isAdmin }) {
    const exported = h('textarea', { class: 'code', readonly: true, rows: 16, spellcheck: 'false' })
    const download = h('a', { href: '#', download: 'gateway.yaml', hidden: true }, 'Download gateway.yaml')
    const exportResult = h('div')
    let url

    async function exportNow() {
      try {
        const yaml = await api('/admin/config/export')
        exported.value = yaml
        if (url) URL.revokeObjectURL(url)
        url = URL.createObjectURL(new Blob([yaml], { type: 'application/yaml' }))
        download.href = url
        download.hidden = false
        replace(exportResult)
      } catch (err) {
        replace(exportResult, errorBox(err))
      }
    }

    replace(
      main,
      h('h1', null, 'Configuration'),
      h(
        'section',
        { 'aria-labelledby': 'export-h' },
        h('h2', { id: 'export-h' }, 'Export'),
        h('p', { class: 'muted' }, 'Providers, models, deployments and routing settings as gateway.yaml. Secrets are redacted; importing the file back keeps them.'),
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: exportNow }, 'Export again'), download),
        exportResult,
        field('Exported configuration (YAML)', exported),
      ),
      isAdmin ? importSection() : null,
    )
    await exportNow()
    return () => url && URL.revokeObjectURL(url)

    function importSection() {
      const doc = h('textarea', { class: 'code', rows: 16, spellcheck: 'false', required: true })
      const mode = select([{ value: 'merge', label: 'Merge' }, { value: 'replace', label: 'Replace' }])
      const result = h('div', { 'aria-live': 'polite' })
      return h(
        'section',
        { 'aria-labelledby': 'import-h' },
        h('h2', { id: 'import-h' }, 'Import'),
        h(
          'form',
          {
            onsubmit: async (e) => {
              e.preventDefault()
              try {
                const r = await api(`/admin/config/import?mode=${mode.value}`, { method: 'POST', text: doc.value, type: 'application/yaml' })
                const lines = [['Created', r.created], ['Updated', r.updated], ['Deleted', r.deleted], ['Settings written', r.settings], ['Not applied (YAML file only)', r.ignored]]
                replace(
                  result,
                  h('p', { role: 'status' }, 'Imported.'),
                  h('ul', null, lines.filter(([, v]) => v.length).map(([k, v]) => h('li', null, `${k}: ${v.join(', ')}`))),
                )
                await exportNow()
              } catch (err) {
                const problems = err.status === 400 || err.status === 409 ? splitProblems(err.message) : []
                replace(
                  result,
                  problems.length
                    ? h(
                        'div',
                        { role: 'alert' },
                        h('p', { class: 'error' }, `Not imported: ${problems.length} problem${problems.length > 1 ? 's' : ''}.`),
                        h('ul', { class: 'problems' }, problems.map((p) => h('li', null, p.path ? [h('code', null, p.path), ` ${p.message}`] : p.message))),
                      )
                    : errorBox(err),
                )
              }
            },
          },
          field('YAML to import', doc),
          h('div', { class: 'form' }, field('Mode', mode, 'Merge upserts what the document lists; replace also deletes providers and models it does not list.')),
          h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Import')),
          result,
        ),
      )
    }
  },
}
