import { test } from 'tap'
import { ConfigError, loadEnv, resolveConfigPath } from '../../lib/config/env.js'
import { formatPath, parseGatewayConfig, parseGatewayYaml, resolveSecret } from '../../lib/config/gateway-config.js'

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

test('env: defaults and named errors', async (t) => {
  const env = loadEnv({})
  t.equal(env.PORT, 8080)
  t.equal(env.HOST, '127.0.0.1')
  t.equal(env.DATABASE_URL, 'file:./data/switchyard.db')
  t.equal(env.LOG_LEVEL, 'info')
  t.equal(loadEnv({ PORT: '9000' }).PORT, 9000)
  t.match(problemsOf(() => loadEnv({ PORT: 'eighty' })), [/^PORT: /])
  t.match(problemsOf(() => loadEnv({ DATABASE_URL: 'mysql://x' })), [/^DATABASE_URL: /])
  t.match(problemsOf(() => loadEnv({ LOG_LEVEL: 'loud' })), [/^LOG_LEVEL: /])
  const secretProblems = problemsOf(() => loadEnv({ JWT_SECRET: 'short-secret' }))
  t.match(secretProblems, [/^JWT_SECRET: /])
  t.notMatch(secretProblems.join(), /short-secret/, 'secret values are never echoed')
  t.equal(loadEnv({ DATABASE_URL: 'postgresql://u@h/db' }).DATABASE_URL, 'postgresql://u@h/db')
})

test('config path: GATEWAY_CONFIG, else gateway.yaml, else the example', async (t) => {
  t.equal(resolveConfigPath({ GATEWAY_CONFIG: '/etc/sy.yaml' }), '/etc/sy.yaml')
  const dir = t.testdir({ 'gateway.yaml': 'providers: []' })
  t.equal(resolveConfigPath({}, dir), `${dir}/gateway.yaml`)
  const empty = t.testdir({})
  t.equal(resolveConfigPath({}, empty), `${empty}/gateway.example.yaml`)
})

test('YAML errors carry their path', async (t) => {
  const yaml = `
providers:
  - { name: openai, type: openai }
models:
  - { name: a, deployments: [{ provider: openai }] }
  - { name: b, deployments: [{ provider: openai }], fallbacks: [zzz] }
  - { name: c, deployments: [{ provider: opnai }] }
routing:
  strategy: fastest
  defaultModel: nope
  patterns: [{ match: "claude-*", provider: anthropic }]
`
  t.same(problemsOf(() => parseGatewayYaml(yaml)), [
    'models[2].deployments[0].provider: unknown provider "opnai"',
    'models[1].fallbacks[0]: unknown model "zzz"',
    'routing.strategy: unknown strategy "fastest" (expected one of model, cost, latency, balanced, least-busy, rules)',
    'routing.defaultModel: unknown model "nope"',
    'routing.patterns[0].provider: unknown provider "anthropic"',
  ])
  t.match(problemsOf(() => parseGatewayYaml('providers: [{ name: x, type: opnai }]')), [/^providers\[0\]\.type: .*expected one of "openai", "azure", "anthropic", "gemini", "mock"/])
  t.match(problemsOf(() => parseGatewayYaml('models: [{ name: m, deployments: [{ provider: p, weight: -1 }] }]')), [/^models\[0\]\.deployments\[0\]\.weight: /])
  t.match(problemsOf(() => parseGatewayYaml('providers: [{ name: x, type: mock, colour: red }]')), [/^providers\[0\]\.colour: /])
  t.match(problemsOf(() => parseGatewayYaml('providers: [')), [/^YAML syntax: /])
  t.match(problemsOf(() => parseGatewayYaml('models: [{ name: a, aliases: [b], deployments: [{provider: p}] }, { name: b, deployments: [{provider: p}] }]\nproviders: [{name: p, type: mock}]')), [
    /^models\[1\]\.name: "b" is already used by models\[0\]/,
  ])
})

test('${VAR} interpolation; apiKey templates kept for resolution at use', async (t) => {
  const cfg = parseGatewayConfig(
    { providers: [{ name: 'o', type: 'openai', baseUrl: '${BASE:-http://localhost:1}/v1', apiKey: '${OPENAI_API_KEY}' }] },
    { BASE: 'http://10.0.0.1:8000' },
  )
  t.equal(cfg.providers[0]!.baseUrl, 'http://10.0.0.1:8000/v1')
  t.equal(cfg.providers[0]!.apiKey, '${OPENAI_API_KEY}')
  t.equal(resolveSecret('${OPENAI_API_KEY}', { OPENAI_API_KEY: 'sk-1' }), 'sk-1')
  t.equal(resolveSecret('${OPENAI_API_KEY}', {}), undefined)
  t.equal(resolveSecret('literal', {}), 'literal')
  t.same(problemsOf(() => parseGatewayConfig({ providers: [{ name: 'o', type: 'openai', baseUrl: '${MISSING}' }] }, {})), [
    'providers[0].baseUrl: environment variable MISSING is not set',
  ])
  t.equal(formatPath('/models/2/deployments/0/provider'), 'models[2].deployments[0].provider')
})
