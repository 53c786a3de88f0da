import { test } from 'tap'
import { parseGatewayConfig } from '../../lib/config/gateway-config.js'
import { RoutingTable } from '../../lib/routing/table.js'

const cfg = parseGatewayConfig({
  providers: [
    { name: 'mock', type: 'mock' },
    { name: 'oa', type: 'openai', apiKey: '${NOT_SET_API_KEY}' },
  ],
  models: [
    { name: 'a', aliases: ['a-2024'], deployments: [{ provider: 'mock', model: 'up-a' }, { provider: 'oa', weight: 3 }] },
    { name: 'b', deployments: [{ provider: 'mock' }] },
  ],
  routing: { defaultModel: 'b', patterns: [{ match: 'gpt-*', provider: 'oa' }] },
})

test('resolution order: name, alias, pattern, default', async (t) => {
  const table = new RoutingTable(cfg, {})
  t.same(table.resolve('a')!.via, 'name')
  const alias = table.resolve('a-2024')!
  t.equal(alias.via, 'alias')
  t.equal(alias.model.name, 'a')
  const pattern = table.resolve('gpt-5')!
  t.equal(pattern.via, 'pattern')
  t.same(pattern.model.deployments.map((d) => [d.id, d.upstreamModel]), [['pattern:oa:gpt-*', 'gpt-5']])
  t.equal(pattern.model.pattern, 'gpt-*')
  t.equal(table.resolve('gpt-5')!.model, pattern.model, 'pattern entries are cached')
  const fallback = table.resolve('unknown')!
  t.equal(fallback.via, 'default')
  t.equal(fallback.model.name, 'b')
  t.same(table.resolve('a')!.model.deployments.map((d) => ({ id: d.id, weight: d.weight, position: d.position })), [
    { id: 'a:mock:up-a', weight: 1, position: 0 },
    { id: 'a:oa:a', weight: 3, position: 1 },
  ])
  t.same(table.publicModels(), ['a', 'b'])
})

test('no default model: unknown names do not resolve; unset keys are flagged', async (t) => {
  const table = new RoutingTable({ ...cfg, routing: {} }, {})
  t.equal(table.resolve('unknown'), undefined)
  t.equal(table.providers.get('oa')!.missingKey, '${NOT_SET_API_KEY}')
  const withKey = new RoutingTable(cfg, { NOT_SET_API_KEY: 'sk-x' })
  t.equal(withKey.providers.get('oa')!.missingKey, undefined)
  t.equal(withKey.providers.get('oa')!.settings.apiKey, 'sk-x')
})
