// Which variables a provider apiKey template may read: PROVIDER_KEY_VARS
// (default *_API_KEY), never the gateway's own secrets; the YAML file that
// breaks the rule does not load, and resolution refuses it too.
import { test } from 'tap'
import { keyTemplateProblems, keyVarPolicy, GATEWAY_SECRET_VARS, templateVars } from '../../lib/security/key-vars.js'
import { parseGatewayConfig, parseGatewayYaml, resolveSecret, baseUrlProblems } from '../../lib/config/gateway-config.js'
import { ConfigError, loadEnv } from '../../lib/config/env.js'
import { RoutingTable } from '../../lib/routing/table.js'

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

test('the default policy: *_API_KEY, minus the gateway secrets', async (t) => {
  const policy = keyVarPolicy()
  t.ok(policy.allows('OPENAI_API_KEY'))
  t.ok(policy.allows('MY_TEAM_API_KEY'))
  t.notOk(policy.allows('HOME'))
  t.notOk(policy.allows('OPENAI_KEY'))
  for (const name of ['JWT_SECRET', 'MASTER_KEY', 'DATABASE_URL', 'REDIS_URL', 'METRICS_TOKEN']) {
    t.ok(GATEWAY_SECRET_VARS.includes(name), `${name} is a gateway secret`)
    t.match(policy.refusal(name), /the gateway's own secrets/)
  }
  t.same(templateVars('${A}-${B:-x}-${A}'), ['A', 'B'])
})

test('an operator list widens it, but never to the gateway secrets', async (t) => {
  const policy = keyVarPolicy('OPENAI_KEY, VENDOR_*, *')
  t.ok(policy.allows('OPENAI_KEY'))
  t.ok(policy.allows('VENDOR_TOKEN'))
  t.ok(policy.allows('ANYTHING'), '"*" allows any other name')
  t.notOk(policy.allows('JWT_SECRET'), 'even "*" cannot reach JWT_SECRET')
  t.notOk(policy.allows('MASTER_KEY'))
  t.same(keyTemplateProblems('${MASTER_KEY}', policy, 'providers[0].apiKey'), [
    "providers[0].apiKey: ${MASTER_KEY} may not be used as a provider key: MASTER_KEY is one of the gateway's own secrets, which provider keys may never reference",
  ])
  t.same(keyTemplateProblems('${HOME}', keyVarPolicy(), 'apiKey'), ['apiKey: ${HOME} may not be used as a provider key: HOME is not allowed by PROVIDER_KEY_VARS (*_API_KEY)'])
  t.same(keyTemplateProblems('sk-literal', keyVarPolicy()), [], 'literal keys are not templates')
  t.same(keyTemplateProblems('${REDACTED}', keyVarPolicy()), [], 'the export placeholder keeps an export a valid config...')
  t.equal(resolveSecret('${REDACTED}', { REDACTED: 'x', PROVIDER_KEY_VARS: '*' }), undefined, '...and never resolves')
})

test('resolveSecret never reads a variable the policy refuses', async (t) => {
  const env = { JWT_SECRET: 'the-jwt-secret-of-this-gateway-0123', OPENAI_API_KEY: 'sk-openai', HOME: '/root' }
  t.equal(resolveSecret('${OPENAI_API_KEY}', env), 'sk-openai')
  t.equal(resolveSecret('${JWT_SECRET}', env), undefined)
  t.equal(resolveSecret('prefix-${JWT_SECRET}', env), undefined, 'not even inside a longer template')
  t.equal(resolveSecret('${JWT_SECRET:-fallback}', env), undefined, 'nor with a default')
  t.equal(resolveSecret('${HOME}', env), undefined)
  t.equal(resolveSecret('${HOME}', { ...env, PROVIDER_KEY_VARS: 'HOME' }), '/root', 'the operator may allow it')
  t.equal(resolveSecret('${JWT_SECRET}', { ...env, PROVIDER_KEY_VARS: '*' }), undefined)

  // A stored provider that references one is unusable: reported as a missing key.
  const table = new RoutingTable({ providers: [{ name: 'p', type: 'openai', apiKey: '${JWT_SECRET}' }], models: [], routing: {} }, env)
  t.equal(table.providers.get('p')!.settings.apiKey, undefined)
  t.equal(table.providers.get('p')!.missingKey, '${JWT_SECRET}')
  t.equal(table.providers.get('p')!.source, 'admin', 'a provider of unknown origin is treated as admin-written')
})

test('the YAML file: a refused variable or a bad baseUrl is a config error naming the path', async (t) => {
  t.same(problemsOf(() => parseGatewayYaml('providers:\n  - { name: p, type: openai, apiKey: "${JWT_SECRET}" }\n', { JWT_SECRET: 'x'.repeat(40) })), [
    "providers[0].apiKey: ${JWT_SECRET} may not be used as a provider key: JWT_SECRET is one of the gateway's own secrets, which provider keys may never reference",
  ])
  t.same(problemsOf(() => parseGatewayConfig({ providers: [{ name: 'p', type: 'openai', apiKey: '${HOME}' }] }, { HOME: '/root' })), [
    'providers[0].apiKey: ${HOME} may not be used as a provider key: HOME is not allowed by PROVIDER_KEY_VARS (*_API_KEY)',
  ])
  t.same(problemsOf(() => parseGatewayConfig({ providers: [{ name: 'p', type: 'openai', apiKey: '${HOME}' }] }, { PROVIDER_KEY_VARS: 'HOME' })), [])

  t.same(problemsOf(() => parseGatewayConfig({ providers: [{ name: 'p', type: 'openai', baseUrl: 'http://127.0.0.1:9/v1?x=' }] }, {})), ['providers[0].baseUrl: must not contain a query (?)'])
  t.same(problemsOf(() => parseGatewayConfig({ providers: [{ name: 'p', type: 'openai', baseUrl: 'http://internal/admin#' }] }, {})), ['providers[0].baseUrl: must not contain a fragment (#)'])
  t.same(problemsOf(() => parseGatewayConfig({ providers: [{ name: 'p', type: 'openai', baseUrl: 'https://user:pw@api.example.com/v1' }] }, {})), [
    'providers[0].baseUrl: must not contain user info (user:password@)',
  ])
  t.same(problemsOf(() => parseGatewayConfig({ providers: [{ name: 'p', type: 'openai', baseUrl: 'http://localhost:11434/v1' }] }, {})), [], 'loopback is fine in the YAML file')
  t.same(baseUrlProblems('https://@host/v1'), ['must not contain user info (user:password@)'])
  t.same(baseUrlProblems('https://api.openai.com/v1'), [])
})

test('env: MASTER_KEY needs 32 characters; the new variables are validated', async (t) => {
  t.match(problemsOf(() => loadEnv({ MASTER_KEY: '12345678' })), [/^MASTER_KEY: .*32/])
  t.notMatch(problemsOf(() => loadEnv({ MASTER_KEY: '12345678' })).join(), /12345678/, 'the value is never echoed')
  t.same(problemsOf(() => loadEnv({ MASTER_KEY: 'k'.repeat(32) })), [])
  const env = loadEnv({})
  t.equal(env.PROVIDER_KEY_VARS, '*_API_KEY')
  t.equal(env.KEYS_RELOAD_INTERVAL_MS, 30_000)
  t.match(problemsOf(() => loadEnv({ PROVIDER_KEY_VARS: 'A B' })), [/^PROVIDER_KEY_VARS: /])
  t.same(problemsOf(() => loadEnv({ ADMIN_UPSTREAM_ALLOW: '10.0.0.0/8, ollama.internal, *.corp.example, ::1' })), [])
  t.same(problemsOf(() => loadEnv({ ADMIN_UPSTREAM_ALLOW: '10.0.0.0/99,not a host' })), [
    'ADMIN_UPSTREAM_ALLOW: "10.0.0.0/99" is not a valid CIDR range',
    'ADMIN_UPSTREAM_ALLOW: "not a host" is neither a host name nor an address or CIDR range',
  ])
})
