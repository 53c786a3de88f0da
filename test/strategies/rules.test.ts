import { test } from 'tap'
import {
  compileGlob,
  GLOB_CACHE_MAX,
  globCache,
  globMatch,
  matchRule,
  rankByDeploymentIds,
  ruleMatches,
  type Rule,
  type RuleConditions,
  type RuleRequest,
} from '../../lib/strategies/rules.js'
import type { Candidate } from '../../lib/strategies/types.js'

function req(over: Partial<RuleRequest> = {}): RuleRequest {
  return { model: 'gpt-4o', headers: {}, promptTokens: 100, stream: false, hasTools: false, ...over }
}

function rule(id: string, conditions: RuleConditions, enabled = true): Rule {
  return { id, name: `rule ${id}`, enabled, conditions, action: { type: 'model', model: `to-${id}` } }
}

test('glob: wildcards, anchoring, case and literal characters', async (t) => {
  t.ok(globMatch('gpt-4o', 'gpt-4o'))
  t.notOk(globMatch('gpt-4o', 'gpt-4o-mini'), 'anchored at the end')
  t.notOk(globMatch('4o', 'gpt-4o'), 'anchored at the start')
  t.notOk(globMatch('GPT-4o', 'gpt-4o'), 'case-sensitive')
  t.ok(globMatch('gpt-*', 'gpt-4o'))
  t.ok(globMatch('gpt-*', 'gpt-'), '* matches the empty run')
  t.notOk(globMatch('gpt-*', 'gpt'))
  t.ok(globMatch('*-mini', 'gpt-4o-mini'))
  t.ok(globMatch('*', ''))
  t.ok(globMatch('*', 'anything at all'))
  t.ok(globMatch('', ''))
  t.notOk(globMatch('', 'a'))
  t.ok(globMatch('a*b*c', 'aXXbYYc'))
  t.ok(globMatch('a*b*c', 'abc'))
  t.notOk(globMatch('a*b*c', 'aXXcYYb'))
  t.ok(globMatch('a*b', 'abab'), 'backtracks to the last b')
  t.ok(globMatch('a**b', 'ab'))
  t.ok(globMatch('*a*', 'bab'))
  t.notOk(globMatch('*a*', 'bbb'))
  t.ok(globMatch('gpt-?o', 'gpt-4o'))
  t.notOk(globMatch('gpt-?o', 'gpt-o'), '? needs exactly one character')
  t.notOk(globMatch('gpt-?o', 'gpt-41o'))
  t.ok(globMatch('??', 'ab'))
  t.notOk(globMatch('??', 'a'))
  t.notOk(globMatch('?', ''))
  t.ok(globMatch('?*', 'a'))
  t.notOk(globMatch('?*', ''))
  t.ok(globMatch('x?y', 'x😀y'), '? is one code point')
  t.ok(globMatch('gpt-4.1', 'gpt-4.1'))
  t.notOk(globMatch('gpt-4.1', 'gpt-4x1'), '. is literal')
  t.ok(globMatch('[a]+(b)|^$', '[a]+(b)|^$'), 'regex syntax is literal')
  t.notOk(globMatch('[ab]', 'a'))
  t.ok(globMatch('a\\*', 'a\\xyz'), 'backslash is literal, * stays a wildcard')
})

test('glob: hostile patterns stay fast', async (t) => {
  const start = performance.now()
  t.notOk(globMatch('a*a*a*a*a*a*a*a*b', 'a'.repeat(5000)))
  t.ok(performance.now() - start < 1000)
})

test('glob: compiled matchers are cached and the cache is bounded', async (t) => {
  globCache.clear()
  const m = compileGlob('claude-*')
  t.equal(compileGlob('claude-*'), m, 'same compiled matcher')
  t.ok(globCache.has('claude-*'))
  t.ok(m('claude-sonnet'))
  for (let i = 0; i < GLOB_CACHE_MAX + 50; i++) globMatch(`p${i}-*`, 'x')
  t.equal(globCache.size, GLOB_CACHE_MAX)
  t.notOk(globCache.has('claude-*'), 'oldest evicted')
  t.ok(globCache.has(`p${GLOB_CACHE_MAX + 49}-*`))
})

test('every condition type matches and mismatches', async (t) => {
  const cases: Array<[string, RuleConditions, Partial<RuleRequest>, Partial<RuleRequest>]> = [
    ['model exact', { model: 'gpt-4o' }, { model: 'gpt-4o' }, { model: 'gpt-4o-mini' }],
    ['model glob', { model: 'claude-*' }, { model: 'claude-haiku' }, { model: 'gpt-4o' }],
    ['keyId', { keyId: 'k1' }, { keyId: 'k1' }, { keyId: 'k2' }],
    ['keyId missing', { keyId: 'k1' }, { keyId: 'k1' }, {}],
    ['tenant', { tenant: 'acme' }, { tenant: 'acme' }, { tenant: 'other' }],
    ['header present', { header: { name: 'X-Team' } }, { headers: { 'x-team': 'a' } }, { headers: { 'x-other': 'a' } }],
    ['header equals', { header: { name: 'x-team', equals: 'ml' } }, { headers: { 'x-team': 'ml' } }, { headers: { 'x-team': 'ML' } }],
    ['header name case', { header: { name: 'X-TEAM', equals: 'ml' } }, { headers: { 'X-Team': 'ml' } }, { headers: { 'X-Team': 'web' } }],
    ['header matches', { header: { name: 'user-agent', matches: 'curl/*' } }, { headers: { 'user-agent': 'curl/8.1' } }, { headers: { 'user-agent': 'python/3' } }],
    ['header array', { header: { name: 'x-tag', equals: 'b' } }, { headers: { 'x-tag': ['a', 'b'] } }, { headers: { 'x-tag': ['a', 'c'] } }],
    ['header undefined value', { header: { name: 'x-tag' } }, { headers: { 'x-tag': '' } }, { headers: { 'x-tag': undefined } }],
    ['metadata string', { metadata: { key: 'tier', equals: 'gold' } }, { metadata: { tier: 'gold' } }, { metadata: { tier: 'silver' } }],
    ['metadata number', { metadata: { key: 'prio', equals: '1' } }, { metadata: { prio: 1 } }, { metadata: { prio: 2 } }],
    ['metadata boolean', { metadata: { key: 'beta', equals: 'true' } }, { metadata: { beta: true } }, { metadata: { beta: false } }],
    ['metadata object', { metadata: { key: 'o', equals: '[object Object]' } }, { metadata: { o: '[object Object]' } }, { metadata: { o: {} } }],
    ['metadata missing', { metadata: { key: 'tier', equals: 'gold' } }, { metadata: { tier: 'gold' } }, {}],
    ['minPromptTokens inclusive', { minPromptTokens: 1000 }, { promptTokens: 1000 }, { promptTokens: 999 }],
    ['maxPromptTokens inclusive', { maxPromptTokens: 1000 }, { promptTokens: 1000 }, { promptTokens: 1001 }],
    ['stream', { stream: true }, { stream: true }, { stream: false }],
    ['stream false', { stream: false }, { stream: false }, { stream: true }],
    ['hasTools', { hasTools: true }, { hasTools: true }, { hasTools: false }],
  ]
  for (const [name, cond, yes, no] of cases) {
    t.ok(ruleMatches(cond, req(yes)), `${name}: matches`)
    t.notOk(ruleMatches(cond, req(no)), `${name}: does not match`)
  }
})

test('conditions are ANDed; empty conditions match everything', async (t) => {
  const cond: RuleConditions = { model: 'gpt-*', stream: true, minPromptTokens: 50, header: { name: 'x-team', equals: 'ml' } }
  const ok = req({ model: 'gpt-4o', stream: true, promptTokens: 60, headers: { 'x-team': 'ml' } })
  t.ok(ruleMatches(cond, ok))
  t.notOk(ruleMatches(cond, { ...ok, model: 'claude' }))
  t.notOk(ruleMatches(cond, { ...ok, stream: false }))
  t.notOk(ruleMatches(cond, { ...ok, promptTokens: 10 }))
  t.notOk(ruleMatches(cond, { ...ok, headers: {} }))
  t.ok(ruleMatches({}, req()))
  t.ok(ruleMatches({ minPromptTokens: 10, maxPromptTokens: 10 }, req({ promptTokens: 10 })))
})

test('first enabled match wins', async (t) => {
  const rules = [
    rule('disabled', {}, false),
    rule('tools', { hasTools: true }),
    rule('big', { minPromptTokens: 10000 }),
    rule('gpt', { model: 'gpt-*' }),
    rule('catchall', {}),
  ]
  t.equal(matchRule(rules, req({ hasTools: true, promptTokens: 20000 }))?.id, 'tools')
  t.equal(matchRule(rules, req({ promptTokens: 20000 }))?.id, 'big')
  t.equal(matchRule(rules, req({ model: 'gpt-4o' }))?.id, 'gpt')
  t.equal(matchRule(rules, req({ model: 'mistral' }))?.id, 'catchall')
  t.equal(matchRule(rules.slice(0, 4), req({ model: 'mistral' })), undefined)
  t.equal(matchRule([rule('only-disabled', {}, false)], req()), undefined)
  t.equal(matchRule([], req()), undefined)
})

function cand(id: string, position: number, pricing?: Candidate['pricing']): Candidate {
  return { id, provider: 'p', providerType: 'openai', model: 'm', upstreamModel: 'm', position, weight: 1, pricing }
}

test('deployments action keeps the rule order, skips unknown and duplicate ids', async (t) => {
  const cs = [cand('a', 0), cand('b', 1), cand('c', 2)]
  const r = rankByDeploymentIds(cs, ['c', 'zz', 'a', 'c'], 'pin')
  t.same(r.map((x) => x.candidate.id), ['c', 'a'])
  t.same(r.map((x) => x.score), [0, 1])
  t.equal(r[0].reason, 'rule "pin" deployment #1')
  t.same(rankByDeploymentIds(cs, []), [])
})
