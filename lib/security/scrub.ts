// Credentials out of upstream error messages. Upstream messages are shown to
// clients (and logged), and upstreams do echo keys: "Incorrect API key
// provided: sk-...", a proxy's "invalid token abc123...", a Google URL with
// ?key=AIza.... Every upstream message passes here before it becomes a
// GatewayError (lib/errors.ts fromErrorInfo).

export const REDACTED = '[redacted]'

/**
 * Longest message kept, in characters. Longer ones are cut before scrubbing:
 * nobody reads more in an error, and it bounds the regex work an upstream can
 * cause with a hostile message (some patterns below are quadratic in the
 * worst case, which on 2,000 characters is still well under a millisecond).
 */
export const MAX_MESSAGE_CHARS = 2000

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** A value that looks like a secret rather than a word: a digit in it, or very long. */
const secretLike = (v: string) => /\d/.test(v) || v.length >= 32

type Replacer = string | ((match: string, ...groups: string[]) => string)

// Shapes of credentials, each replaced whole (or its value part).
const PATTERNS: Array<[RegExp, Replacer]> = [
  // OpenAI, Anthropic, Switchyard and most vendors' keys: sk-..., sk-ant-..., sk-proj-...
  [/\bsk-[A-Za-z0-9_*-]{6,}/g, REDACTED],
  // Google API keys.
  [/\bAIza[0-9A-Za-z_-]{10,}/g, REDACTED],
  // JSON Web Tokens.
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // Authorization schemes followed by a credential.
  [/\b(Bearer|Basic|Token)(\s+)([A-Za-z0-9._~+/=-]{8,})/gi, (m, scheme, space, value) => (secretLike(value) ? `${scheme}${space}${REDACTED}` : m)],
  // Query parameters that carry credentials.
  [/([?&](?:key|api[_-]?key|access[_-]?token|token|secret|signature|sig|password)=)[^&\s"'<>]+/gi, `$1${REDACTED}`],
  // A long hex/base64-ish value after a word naming a credential:
  // "api_key: 9f8e...", "token=abc...", "x-api-key 'abc...'", "secret is abc...".
  [
    /(?<![A-Za-z0-9])((?:api[_-]?key|key|token|secret|password|passwd|credential|credentials|auth)\b["']?(?:\s*[:=]\s*|\s+(?:is\s+|was\s+)?)["']?)([A-Za-z0-9+/_.~=-]{16,})/gi,
    (m, prefix, value) => (secretLike(value) ? `${prefix}${REDACTED}` : m),
  ],
]

/**
 * `text` (cut to MAX_MESSAGE_CHARS) with every credential-shaped substring,
 * and every value in `secrets` (the provider's own key, say), replaced by
 * "[redacted]". Secrets shorter than 4 characters are not searched for (they
 * would redact ordinary words).
 */
export function scrubSecrets(text: string, secrets: ReadonlyArray<string | null | undefined> = []): string {
  if (!text) return text
  let out = text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text
  const known = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4).sort((a, b) => b.length - a.length)
  for (const s of known) out = out.replace(new RegExp(escape(s), 'g'), REDACTED)
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement as never)
  return out
}
