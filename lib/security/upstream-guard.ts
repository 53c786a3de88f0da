// Where providers written through the admin API may connect.
//
// Providers from the YAML file belong to the operator and may point anywhere
// (Ollama or vLLM on localhost, mocks in tests). A provider created or changed
// through the admin API may only reach public unicast addresses: never
// loopback, private (RFC 1918, CGNAT 100.64/10, IPv6 ULA fc00::/7),
// link-local (169.254/16 with cloud metadata, fe80::/10), unspecified,
// multicast, broadcast or any other special-purpose range ipaddr.js knows.
// The operator's exceptions are ADMIN_UPSTREAM_ALLOW: comma-separated host
// names (`ollama.internal`, `*.corp.example` for subdomains) or CIDR ranges
// (`10.1.0.0/16`, a bare address means just it).
//
// It is checked twice: when the provider is written (literal addresses and
// what the name resolves to then, for a clear 400) and on every new upstream
// connection, on the address actually dialled (a custom DNS lookup in the
// undici connector), so a name that resolves elsewhere later (DNS rebinding)
// is still refused.
import dns from 'node:dns'
import net from 'node:net'
import ipaddr from 'ipaddr.js'
import { buildConnector } from 'undici'

export const UPSTREAM_BLOCKED = 'ESWITCHYARD_UPSTREAM_BLOCKED'

const RANGE_LABELS: Record<string, string> = {
  loopback: 'loopback',
  private: 'private (RFC 1918)',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  linkLocal: 'link-local',
  uniqueLocal: 'unique local (fc00::/7)',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'reserved',
}

/** "a loopback address", "a private (RFC 1918) address", "a non-public (6to4) address". */
export function rangeLabel(range: string): string {
  const label = RANGE_LABELS[range] ?? `non-public (${range})`
  // "an unspecified", but "a unique local".
  return `${/^(?:[aeio]|u(?!ni))/i.test(label) ? 'an' : 'a'} ${label} address`
}

/** A connection the guard refused; undici hands it to the request as its error. */
export class UpstreamBlockedError extends Error {
  readonly code = UPSTREAM_BLOCKED
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(host === address ? `${address} is ${rangeLabel(range)}` : `${host} resolves to ${address}, ${rangeLabel(range)}`)
    this.name = 'UpstreamBlockedError'
  }
}

export function isUpstreamBlocked(err: unknown): err is UpstreamBlockedError {
  return err instanceof UpstreamBlockedError || (err as { code?: unknown } | null)?.code === UPSTREAM_BLOCKED
}

export interface UpstreamPolicy {
  /** ADMIN_UPSTREAM_ALLOW as given (for messages). */
  readonly allow: string
  /** A host name the operator listed: anything it resolves to may be reached. */
  hostAllowed(host: string): boolean
  /** Why an address may not be reached (its ipaddr.js range), undefined when it may. */
  addressRefusal(address: string): string | undefined
}

const stripBrackets = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host)
const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i

/** Problems of an ADMIN_UPSTREAM_ALLOW value, one per bad entry. */
export function upstreamAllowProblems(spec: string | undefined): string[] {
  return parseEntries(spec).problems.map((p) => `ADMIN_UPSTREAM_ALLOW: ${p}`)
}

function parseEntries(spec: string | undefined) {
  const ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = []
  const hosts: string[] = []
  const suffixes: string[] = []
  const problems: string[] = []
  for (const raw of (spec ?? '').split(',')) {
    const entry = raw.trim()
    if (!entry) continue
    if (entry.includes('/')) {
      try {
        let [addr, bits] = ipaddr.parseCIDR(entry)
        // Addresses are judged as IPv4 when IPv4-mapped, so ranges are too.
        if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
          addr = (addr as ipaddr.IPv6).toIPv4Address()
          bits = Math.max(0, bits - 96)
        }
        ranges.push([addr, bits])
      } catch {
        problems.push(`"${entry}" is not a valid CIDR range`)
      }
    } else if (ipaddr.isValid(stripBrackets(entry))) {
      const addr = ipaddr.process(stripBrackets(entry))
      ranges.push([addr, addr.kind() === 'ipv4' ? 32 : 128])
    } else if (HOST_NAME.test(entry)) {
      const host = entry.toLowerCase().replace(/\.$/, '')
      if (host.startsWith('*.')) suffixes.push(host.slice(1))
      else hosts.push(host)
    } else {
      problems.push(`"${entry}" is neither a host name nor an address or CIDR range`)
    }
  }
  return { ranges, hosts, suffixes, problems }
}

/** The policy ADMIN_UPSTREAM_ALLOW describes; invalid entries are ignored (loadEnv reports them). */
export function upstreamPolicy(spec?: string): UpstreamPolicy {
  const { ranges, hosts, suffixes } = parseEntries(spec)
  return {
    allow: spec ?? '',
    hostAllowed(host) {
      const h = stripBrackets(host).toLowerCase().replace(/\.$/, '')
      return hosts.includes(h) || suffixes.some((s) => h.endsWith(s) && h.length > s.length)
    },
    addressRefusal(address) {
      let ip: ipaddr.IPv4 | ipaddr.IPv6
      try {
        // IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it is.
        ip = ipaddr.process(stripBrackets(address))
      } catch {
        return 'unparsable'
      }
      if (ranges.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits))) return undefined
      const range = ip.range()
      return range === 'unicast' ? undefined : range
    },
  }
}

type LookupAll = (hostname: string, options: { all: true }) => Promise<Array<{ address: string; family: number }>>

/**
 * Write-time check of a baseUrl for a provider written through the admin API:
 * one message per refused address. A name that does not resolve now is
 * accepted (the machine may be offline); the connection-time guard decides later.
 */
export async function upstreamProblems(
  baseUrl: string,
  policy: UpstreamPolicy,
  opts: { lookup?: LookupAll; timeoutMs?: number } = {},
): Promise<string[]> {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    return []
  }
  const host = stripBrackets(url.hostname)
  if (!host || policy.hostAllowed(host)) return []
  if (net.isIP(host)) {
    const range = policy.addressRefusal(host)
    return range ? [new UpstreamBlockedError(host, host, range).message] : []
  }
  const lookup = opts.lookup ?? ((h, o) => dns.promises.lookup(h, o))
  let timer: NodeJS.Timeout | undefined
  let addresses: Array<{ address: string; family: number }>
  try {
    addresses = await Promise.race([
      lookup(host, { all: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('lookup timed out')), opts.timeoutMs ?? 3000)
      }),
    ])
  } catch {
    return []
  } finally {
    clearTimeout(timer)
  }
  return addresses.flatMap(({ address }) => {
    const range = policy.addressRefusal(address)
    return range ? [new UpstreamBlockedError(host, address, range).message] : []
  })
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void
export type LookupFn = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => void

/**
 * A net/tls `lookup` that refuses a name when any address it resolves to is
 * not allowed (all of them are checked, so a name that mixes a public and a
 * private address cannot be used to reach the private one).
 */
export function guardedLookup(policy: UpstreamPolicy, base: LookupFn = dns.lookup as unknown as LookupFn): LookupFn {
  return (hostname, options, callback) => {
    const opts: dns.LookupOptions = typeof options === 'object' && options ? options : {}
    base(hostname, { ...opts, all: true }, (err, result) => {
      if (err) return callback(err, opts.all ? [] : '')
      const addresses = result as dns.LookupAddress[]
      if (!policy.hostAllowed(hostname)) {
        for (const a of addresses) {
          const range = policy.addressRefusal(a.address)
          if (range) return callback(new UpstreamBlockedError(hostname, a.address, range) as unknown as NodeJS.ErrnoException, opts.all ? [] : '')
        }
      }
      if (opts.all) return callback(null, addresses)
      const first = addresses[0]
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '')
      callback(null, first.address, first.family)
    })
  }
}

/**
 * An undici connector that applies `policy` to every new connection: literal
 * addresses before dialling, names through guardedLookup.
 */
export function guardedConnector(policy: UpstreamPolicy, options: buildConnector.BuildOptions = {}, lookup?: LookupFn): buildConnector.connector {
  const connect = buildConnector({ ...options, lookup: guardedLookup(policy, lookup) } as buildConnector.BuildOptions)
  return (opts, callback) => {
    const host = stripBrackets(opts.hostname)
    if (net.isIP(host) && !policy.hostAllowed(host)) {
      const range = policy.addressRefusal(host)
      if (range) {
        const err = new UpstreamBlockedError(host, host, range)
        process.nextTick(() => callback(err, null))
        return
      }
    }
    connect(opts, callback)
  }
}
