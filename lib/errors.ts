// Every error the gateway answers with, defined once. On /v1 they are rendered
// in OpenAI's error shape: { error: { message, type, param, code } }.
import type { ErrorInfo } from './providers/types.js'
import { scrubSecrets } from './security/scrub.js'

export class GatewayError extends Error {
  readonly statusCode: number
  readonly type: string
  readonly code: string | null
  readonly param: string | null
  readonly headers: Record<string, string>

  constructor(info: ErrorInfo & { headers?: Record<string, string> }) {
    super(info.message)
    this.name = 'GatewayError'
    this.statusCode = info.status
    this.type = info.type
    this.code = info.code
    this.param = info.param ?? null
    this.headers = { ...info.headers }
    if (info.retryAfterSec !== undefined) this.headers['retry-after'] = String(Math.max(1, Math.ceil(info.retryAfterSec)))
  }

  /** The HTTP status, as OpenAI's SDK errors name it. */
  get status(): number {
    return this.statusCode
  }

  toJSON() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } }
  }
}

type Make<A extends unknown[]> = (...args: A) => GatewayError

/** An error factory; lib/admin/errors.ts and lib/ui/errors.ts define theirs with it too. */
export function define<A extends unknown[]>(
  status: number,
  type: string,
  code: string | null,
  message: (...args: A) => string,
  param?: (...args: A) => string | null,
): Make<A> {
  return (...args: A) => new GatewayError({ status, type, code, message: message(...args), param: param?.(...args) ?? null })
}

export const errors = {
  missingKey: define(401, 'invalid_request_error', 'missing_api_key', () =>
    'You must provide an API key in the Authorization header (Bearer <key>) or the x-api-key header.'),
  invalidKey: define(401, 'invalid_request_error', 'invalid_api_key', () => 'Incorrect API key provided.'),
  modelNotAllowed: define(403, 'permission_error', 'model_not_allowed', (model: string) => `This API key may not use the model "${model}".`, () => 'model'),
  /** A routing rule moved the request to a model the key may not use (its name is the operator's, not said). */
  ruleModelNotAllowed: define(403, 'permission_error', 'model_not_allowed', (model: string) =>
    `A routing rule sends requests for "${model}" to a model this API key may not use.`, () => 'model'),
  /** An upstream answer over one of the gateway's size caps; `setting` names the variable that sets it. */
  upstreamTooLarge: define(502, 'upstream_error', 'upstream_response_too_large', (what: string, limit: number, setting: string) =>
    `The upstream ${what} exceeds the gateway's limit of ${limit} bytes (${setting}).`),
  strategyOverrideForbidden: define(403, 'permission_error', 'strategy_override_forbidden', () =>
    'This API key may not choose the routing strategy (x-switchyard-strategy).'),
  modelNotFound: define(404, 'invalid_request_error', 'model_not_found', (model: string) =>
    `The model "${model}" does not exist or is not served by this gateway.`, () => 'model'),
  invalidBody: define(400, 'invalid_request_error', 'invalid_request_body', (detail: string, _param?: string) => detail, (_d: string, param?: string) => param ?? null),
  invalidJson: define(400, 'invalid_request_error', 'invalid_json', (detail: string) => `We could not parse the JSON body of your request: ${detail}`),
  unsupportedMediaType: define(415, 'invalid_request_error', 'unsupported_media_type', (type: string) =>
    `Unsupported content-type "${type}": send application/json.`),
  bodyTooLarge: define(413, 'invalid_request_error', 'request_too_large', (limit: number) => `The request body exceeds the limit of ${limit} bytes.`),
  notFound: define(404, 'invalid_request_error', 'not_found', (method: string, url: string) => `Unknown route: ${method} ${url}`),
  noDeployment: define(503, 'server_error', 'no_available_deployment', (model: string) => `No deployment of "${model}" is available right now.`),
  providerUnconfigured: define(502, 'upstream_error', 'provider_not_configured', (provider: string, detail: string) => `Provider "${provider}" is not usable: ${detail}`),
  upstreamUnreachable: define(502, 'upstream_error', 'upstream_unreachable', (detail: string) => `The upstream provider could not be reached: ${detail}`),
  upstreamStreamInterrupted: define(502, 'upstream_error', 'upstream_stream_interrupted', (detail: string) => `The upstream connection broke in the middle of the stream: ${detail}`),
  upstreamTimeout: define(504, 'timeout_error', 'upstream_timeout', (detail: string) => `The upstream provider timed out: ${detail}`),
  upstreamBadResponse: define(502, 'upstream_error', 'bad_upstream_response', (detail: string) => `The upstream provider returned an invalid response: ${detail}`),
  /** A provider written through the admin API pointed at an address it may not reach (lib/security/upstream-guard.ts). */
  upstreamAddressBlocked: define(502, 'upstream_error', 'upstream_address_blocked', (what: string) =>
    `The upstream provider may not be reached: its address is ${what}, which providers configured through the admin API may not connect to (the operator can allow it with ADMIN_UPSTREAM_ALLOW).`),
  /** Too many failed key checks from one client address (plugins/auth.ts). */
  tooManyAuthFailures: (retryAfterSec: number) =>
    new GatewayError({
      status: 429,
      type: 'rate_limit_error',
      code: 'too_many_auth_failures',
      message: `Too many requests with a missing or invalid API key from this address; retry in ${Math.max(1, Math.ceil(retryAfterSec))} s.`,
      param: null,
      retryAfterSec: Math.max(1, Math.ceil(retryAfterSec)),
    }),
  internal: define(500, 'server_error', 'internal_error', () => 'The gateway failed to process the request.'),
  /** Every deployment that could serve the request has its circuit open; retry-after = until the first reopens. */
  allDeploymentsCoolingDown: (model: string, retryAfterSec: number) =>
    new GatewayError({
      status: 503,
      type: 'server_error',
      code: 'all_deployments_cooling_down',
      message: `Every deployment of "${model}" is cooling down after repeated failures; retry in ${Math.max(1, Math.ceil(retryAfterSec))} s.`,
      param: null,
      retryAfterSec: Math.max(1, Math.ceil(retryAfterSec)),
    }),
  /** Per-key RPM/TPM limits; `headers` carries retry-after and the x-ratelimit-* headers. */
  rateLimited: (message: string, headers: Record<string, string>) =>
    new GatewayError({ status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', message, param: null, headers }),
  budgetExceeded: (message: string) =>
    new GatewayError({ status: 402, type: 'insufficient_quota', code: 'budget_exceeded', message, param: null }),
  /** The gateway ended a stream still open when its shutdown grace ran out (server.ts). */
  gatewayShuttingDown: define(503, 'server_error', 'gateway_shutting_down', () =>
    'The gateway is shutting down and ended this stream; what was relayed so far is billed. Retry the request.'),
  overloaded: (retryAfterSec: number) =>
    new GatewayError({ status: 503, type: 'server_error', code: 'overloaded', message: 'The gateway is overloaded; retry later.', param: null, retryAfterSec }),
}

/**
 * An upstream's error as the gateway's. Its message is shown to clients, so
 * credentials are scrubbed from it first: anything credential-shaped, and
 * `secrets` (the provider's own key) verbatim.
 */
export function fromErrorInfo(info: ErrorInfo, secrets: ReadonlyArray<string | null | undefined> = []): GatewayError {
  return new GatewayError({
    ...info,
    message: scrubSecrets(info.message, secrets),
    code: info.code == null ? info.code : scrubSecrets(info.code, secrets),
    param: info.param == null ? info.param : scrubSecrets(info.param, secrets),
  })
}
