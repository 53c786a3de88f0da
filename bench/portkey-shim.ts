// Preloaded into Portkey's gateway by the bench (node --import): Portkey
// 1.15.2 appends its own headers to the upstream's fetch Response, whose
// headers are immutable on Node 20, so every streamed request failed with
// "TypeError: immutable". One re-wrap per upstream response, nothing else.
// The original Response stays reachable from its copy: Node's fetch cancels
// a body whose Response was garbage collected ("Response object has been
// garbage collected"), which cut streams mid-way.
const upstreamFetch = globalThis.fetch
const originals = new WeakMap<Response, Response>()
globalThis.fetch = async (...args: Parameters<typeof fetch>): Promise<Response> => {
  const res = await upstreamFetch(...args)
  const copy = new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers })
  originals.set(copy, res)
  return copy
}
export {}
