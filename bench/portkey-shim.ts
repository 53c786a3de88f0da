// Preloaded into Portkey's gateway by the bench (node --import): Portkey
// 1.15.2 appends its own headers to the upstream's fetch Response, whose
// headers are immutable on Node 20, so every streamed request failed with
// "TypeError: immutable". One re-wrap per upstream response, nothing else.
const upstreamFetch = globalThis.fetch
globalThis.fetch = async (...args: Parameters<typeof fetch>): Promise<Response> => {
  const res = await upstreamFetch(...args)
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers })
}
export {}
