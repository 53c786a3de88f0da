// A tiny DOM builder: h('button', { onclick, class: 'primary' }, 'Save').
// Text is always set as text, never parsed as HTML.

let ids = 0
export const uid = (prefix = 'f') => `${prefix}-${++ids}`

export function h(tag, props, ...children) {
  const el = document.createElement(tag)
  append(el, children)
  // After the children, so a <select>'s value finds its options.
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (k === 'class') el.className = v
    else if (k === 'value' || k === 'checked') el[k] = v
    else if (k === 'dataset') Object.assign(el.dataset, v)
    else el.setAttribute(k, v === true ? '' : String(v))
  }
  return el
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : String(c))
  }
}

/** Replaces a container's content, keeping keyboard focus on the element with the same data-key. */
export function replace(container, ...nodes) {
  const active = document.activeElement
  const key = active && container.contains(active) ? active.dataset.key : undefined
  container.replaceChildren()
  append(container, nodes)
  if (key) container.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus()
}

/** A labelled control: the label names it, the hint describes it. */
export function field(label, control, hint) {
  control.id ||= uid()
  const hintEl = hint ? h('small', { id: `${control.id}-hint` }, hint) : null
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id)
  const inline = control.type === 'checkbox'
  return h('div', { class: inline ? 'field inline' : 'field' }, inline ? [control, h('label', { for: control.id }, label)] : [h('label', { for: control.id }, label), control], hintEl)
}

export function select(options, props = {}) {
  return h('select', props, options.map((o) => (typeof o === 'string' ? h('option', { value: o }, o) : h('option', { value: o.value }, o.label))))
}

/**
 * A table in a horizontally scrollable region (keyboard-scrollable, named by
 * its caption), so wide tables never widen the page.
 * columns: [{ label, cell(row) => Node|string, num?: true }]
 */
export function table(caption, columns, rows, empty = 'Nothing yet.') {
  const captionId = uid('cap')
  const body = rows.length
    ? rows.map((r) => h('tr', null, columns.map((c) => h('td', { class: c.num ? 'num' : undefined }, c.cell(r)))))
    : [h('tr', null, h('td', { colspan: columns.length, class: 'muted' }, empty))]
  return h(
    'div',
    { class: 'scroll', role: 'region', tabindex: 0, 'aria-labelledby': captionId },
    h('table', null, h('caption', { id: captionId }, caption), h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.label)))), h('tbody', null, body)),
  )
}

/** Announces a short message in the page's status region. */
export function announce(message) {
  const region = document.getElementById('status')
  region.textContent = message
  clearTimeout(announce.timer)
  announce.timer = setTimeout(() => {
    region.textContent = ''
  }, 5000)
}

export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err?.message ?? String(err))
}
