// Every candidate is compared on the same expected completion, whatever
// history each deployment has (issue 9, point 1); rules count prompt tokens
// on a deployment that can take the request.
import { test } from 'tap'
import fc from 'fast-check'
import { createCostStrategy, estimateCost } from '../../lib/strategies/cost.js'
import { DEFAULT_EXPECTED_COMPLETION_TOKENS, expectedCompletion, requestedMaxTokens } from '../../lib/strategies/expected-completion.js'
import { modelExpectedCompletion, RoutingPlanner, type PlannerDeps } from '../../lib/routing/planner.js'
import type { Candidate, LatencyView, Pricing } from '../../lib/strategies/types.js'
import type { DeploymentEntry, ModelEntry, RoutingTable } from '../../lib/routing/table.js'
import type { Rule } from '../../lib/strategies/rules.js'

const price = fc.record({ input: fc.double({ min: 0, max: 100, noNaN: true }), output: fc.double({ min: 0, max: 100, noNaN: true }) })
const history = fc.option(
  fc.record({ samples: fc.integer({ min: 0, max: 500 }), meanCompletionTokens: fc.option(fc.double({ min: 0, max: 8000, noNaN: true }), { nil: undefined }) }),
  { nil: undefined },
)
const deploymentSpec = fc.record({
  pricing: fc.option(price, { nil: undefined }),
  history,
  enabled: fc.boolean(),
  promptTokens: fc.integer({ min: 0, max: 200_000 }),
})

function table(strategy: string, models: ModelEntry[] = []): RoutingTable {
  return { strategy, get: (name: string) => models.find((m) => m.name === name) } as unknown as RoutingTable
}

function entry(id: string, position: number, extra: Partial<DeploymentEntry> = {}): DeploymentEntry {
  return { id, provider: 'p', providerType: 'openai', model: 'm', upstreamModel: id, position, weight: 1, enabled: true, ...extra }
}

test('expectedCompletion: max tokens, else the model mean weighted by samples, else the default', async (t) => {
  t.same(expectedCompletion(50, [{ samples: 9, meanCompletionTokens: 4 }]), { tokens: 50, source: 'max_tokens' })
  t.same(expectedCompletion(undefined, [undefined, { samples: 3, meanCompletionTokens: 4 }, { samples: 1, meanCompletionTokens: 8 }]), { tokens: 5, source: 'model-mean', samples: 4 })
  t.same(expectedCompletion(undefined, [undefined, { samples: 0 }, { samples: 2, meanCompletionTokens: Number.NaN }]), { tokens: DEFAULT_EXPECTED_COMPLETION_TOKENS, source: 'default' })
  t.equal(requestedMaxTokens({ max_tokens: 7, max_completion_tokens: 9 }), 9, 'the newer field wins')
  t.equal(requestedMaxTokens({ max_tokens: '7' }), undefined, 'not a number: ignored')
  t.equal(requestedMaxTokens({ max_tokens: 0 }), 0)
})

test('property: the cost strategy never ranks first a candidate whose estimate is above another\'s, on one shared completion', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ pricing: price, history, promptTokens: fc.integer({ min: 0, max: 100_000 }) }), { minLength: 2, maxLength: 6 }),
      fc.option(fc.integer({ min: 0, max: 16_000 }), { nil: undefined }),
      (specs, maxOut) => {
        const candidates: Candidate[] = specs.map((s, i) => ({ id: `d${i}`, provider: 'p', providerType: 'openai', model: 'm', upstreamModel: `u${i}`, position: i, weight: 1, pricing: s.pricing as Pricing }))
        const views = new Map<string, LatencyView | undefined>(specs.map((s, i) => [`d${i}`, s.history as LatencyView | undefined]))
        const prompts = new Map(specs.map((s, i) => [`d${i}`, s.promptTokens]))
        const ranked = createCostStrategy().rank(candidates, {
          promptTokens: 0,
          promptTokensOf: (c) => prompts.get(c.id)!,
          maxOutputTokens: maxOut,
          stream: false,
          latency: (id) => views.get(id),
          inFlight: () => 0,
          random: () => 0.5,
        })
        const exp = expectedCompletion(maxOut, views.values())
        const est = (c: Candidate) => estimateCost(c.pricing!, prompts.get(c.id)!, exp.tokens)
        const chosen = ranked[0]!.candidate
        for (const r of ranked) if (est(chosen) > est(r.candidate)) return false
        return ranked.every((r) => r.reason.includes(` + ${exp.tokens} completion tokens`))
      },
    ),
    { numRuns: 500 },
  )
  t.pass('500 random price lists and histories')
})

test('property: through the planner, over random prices, histories, disabled deployments and prompt counts', async (t) => {
  fc.assert(
    fc.property(fc.array(deploymentSpec, { minLength: 1, maxLength: 6 }), fc.option(fc.integer({ min: 0, max: 16_000 }), { nil: undefined }), (specs, maxOut) => {
      const deployments = specs.map((s, i) => entry(`d${i}`, i, { enabled: s.enabled, pricing: s.pricing }))
      const model: ModelEntry = { name: 'm', aliases: [], deployments, fallbacks: [], contextWindowFallbacks: [] }
      const views = new Map(specs.map((s, i) => [`d${i}`, s.history as LatencyView | undefined]))
      const prompts = new Map(specs.map((s, i) => [`d${i}`, s.promptTokens]))
      const deps: PlannerDeps = {
        priceOf: (d) => d.pricing as Pricing | undefined,
        latency: (id) => views.get(id),
        inFlight: () => 0,
        countTokens: (_body, d) => prompts.get(d.id)!,
        rules: () => [],
        rulesFallback: () => 'model',
      }
      const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], ...(maxOut !== undefined ? { max_tokens: maxOut } : {}) }
      const plan = new RoutingPlanner(deps).plan({ model, body, stream: false, headers: {} }, table('cost'))
      const byId = new Map(deployments.map((d) => [d.id, d]))
      // History of every deployment counts, disabled ones included.
      const exp = modelExpectedCompletion(model, body, (id) => views.get(id))
      if (plan.ranked.length > 1 && plan.expectedCompletion?.tokens !== exp.tokens) return false
      const priced = plan.ranked.filter((r) => byId.get(r.candidate.id)!.pricing)
      const est = (id: string) => estimateCost(byId.get(id)!.pricing as Pricing, prompts.get(id)!, exp.tokens)
      for (let i = 1; i < priced.length; i++) if (est(priced[0]!.candidate.id) > est(priced[i]!.candidate.id)) return false
      // Disabled deployments are never candidates.
      return plan.ranked.every((r) => byId.get(r.candidate.id)!.enabled)
    }),
    { numRuns: 500 },
  )
  t.pass('500 random models')
})

test('after a switch to cost, history on the expensive deployment does not make it look cheap', async (t) => {
  // The case: $3/$6 measured at 4 completion tokens; $0.2/$0.4 and $1/$2 never used.
  const deployments = [
    entry('expensive', 0, { pricing: { input: 3, output: 6 } }),
    entry('cheap', 1, { pricing: { input: 0.2, output: 0.4 } }),
    entry('mid', 2, { pricing: { input: 1, output: 2 } }),
  ]
  const model: ModelEntry = { name: 'm', aliases: [], deployments, fallbacks: [], contextWindowFallbacks: [] }
  const views: Record<string, LatencyView> = { expensive: { samples: 3, emaMs: 20, meanCompletionTokens: 4 } }
  const plan = new RoutingPlanner({
    priceOf: (d) => d.pricing as Pricing,
    latency: (id) => views[id],
    inFlight: () => 0,
    countTokens: () => 12,
    rules: () => [],
    rulesFallback: () => 'model',
  }).plan({ model, body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, stream: false, headers: {} }, table('cost'))
  t.same(plan.ranked.map((r) => r.candidate.id), ['cheap', 'mid', 'expensive'])
  t.same(plan.expectedCompletion, { tokens: 4, source: 'model-mean', samples: 3 })
  for (const r of plan.ranked) t.match(r.reason, /12 prompt \+ 4 completion tokens \(model mean over 3 samples\)/)
})

test('rules count prompt tokens on a deployment that can take the request, not on a disabled or cooling first one', async (t) => {
  // The first deployment is disabled and counts very differently (say, another provider's tokenizer).
  const deployments = [entry('off', 0, { enabled: false, providerType: 'anthropic' }), entry('cool', 1), entry('on', 2)]
  const model: ModelEntry = { name: 'm', aliases: [], deployments, fallbacks: [], contextWindowFallbacks: [] }
  const big: ModelEntry = { name: 'big', aliases: [], deployments: [entry('big-1', 0)], fallbacks: [], contextWindowFallbacks: [] }
  const counted: string[] = []
  const prompt: Record<string, number> = { off: 5000, cool: 3000, on: 800, 'big-1': 800 }
  const rules: Rule[] = [{ id: 'r1', name: 'long prompts', enabled: true, conditions: { minPromptTokens: 1000 }, action: { type: 'model', model: 'big' } }]
  const cooling = new Set(['cool'])
  const planner = new RoutingPlanner({
    priceOf: () => undefined,
    latency: () => undefined,
    inFlight: () => 0,
    countTokens: (_b, d) => {
      counted.push(d.id)
      return prompt[d.id]!
    },
    rules: () => rules,
    rulesFallback: () => 'model',
    unavailable: (d) => (cooling.has(d.id) ? 'cooling down' : undefined),
  })
  const body = { model: 'm', messages: [{ role: 'user', content: 'x'.repeat(3200) }] }
  const plan = planner.plan({ model, body, stream: false, headers: {} }, table('rules', [model, big]))
  t.equal(plan.rule, undefined, '800 tokens on the deployment that would serve it: the long-prompt rule does not match')
  t.equal(plan.model.name, 'm')
  t.same(counted, ['on'], 'counted once, on the first available deployment')
  t.same(plan.ranked.map((r) => r.candidate.id), ['on'])

  // Once the cooling one is back, it is the one that would serve, and it is the one counted.
  cooling.clear()
  counted.length = 0
  const plan2 = planner.plan({ model, body, stream: false, headers: {} }, table('rules', [model, big]))
  t.equal(plan2.rule?.name, 'long prompts')
  t.equal(plan2.model.name, 'big')
  t.same(counted, ['cool'])
})
