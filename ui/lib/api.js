// The admin API as the dashboard calls it: the session cookie goes along by
// itself; every write carries the session's CSRF token.

let csrfToken = ''
export const setCsrfToken = (token) => {
  csrfToken = token
}

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`)
    this.status = status
    this.code = error?.code ?? null
    this.param = error?.param ?? null
  }
}

/** Called when the session has ended (401): the app shows the sign-in page. */
export const onSignedOut = new EventTarget()

/**
 * api('/admin/keys'), api('/admin/keys', { method: 'POST', body: {...} }),
 * api('/admin/config/import', { method: 'POST', text: yaml, type: 'application/yaml' }).
 */
export async function api(path, { method = 'GET', body, text, type } = {}) {
  const headers = {}
  let payload
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken
  if (text !== undefined) {
    payload = text
    headers['content-type'] = type ?? 'text/plain'
  } else if (body !== undefined) {
    payload = JSON.stringify(body)
    headers['content-type'] = 'application/json'
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' })
  if (res.status === 204) return undefined
  const isJson = (res.headers.get('content-type') ?? '').includes('json')
  const data = isJson ? await res.json() : await res.text()
  if (!res.ok) {
    const err = new ApiError(res.status, isJson ? data.error : { message: data })
    if (res.status === 401 && path.startsWith('/admin/')) onSignedOut.dispatchEvent(new Event('signed-out'))
    throw err
  }
  return data
}

export const enc = encodeURIComponent
