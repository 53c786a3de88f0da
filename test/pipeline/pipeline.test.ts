// The pipeline's stage order and its settlement rules, with fake stages.
import { test } from 'tap'
import { Pipeline } from '../../lib/pipeline/pipeline.js'
import type { AdmissionStage, Outcome, PipelineRequest, PipelineStages, Reservation } from '../../lib/pipeline/types.js'
import type { ModelEntry } from '../../lib/routing/table.js'
import type { ProxyResponse } from '../../lib/proxy/types.js'
import { errors } from '../../lib/errors.js'
import { MASTER_IDENTITY } from '../../lib/keys/keys.js'

const model: ModelEntry = {
  name: 'm',
  aliases: [],
  fallbacks: [],
  contextWindowFallbacks: [],
  deployments: [{ id: 'd1', provider: 'p', providerType: 'openai', model: 'm', upstreamModel: 'u', position: 0, weight: 1, enabled: true }],
}

function request(): PipelineRequest {
  return {
    id: 'req_1',
    entryPoint: 'chat',
    operation: 'chat',
    identity: MASTER_IDENTITY,
    body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
    stream: false,
    includeUsage: false,
    headers: {},
    startedAt: 0,
  }
}

const okOutcome: Outcome = { status: 200, attempts: 1, stream: false, usageSource: 'upstream', usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }, costUsd: 0.5 }
const response = { status: 200, headers: {}, body: '{}', deployment: model.deployments[0]!, attempts: 1, upstreamMs: 1 } as ProxyResponse

/** Fake stages that write what happens to `log`. */
function stages(log: string[], over: Partial<PipelineStages> = {}, admission?: AdmissionStage[]): PipelineStages {
  const reserving = (name: string): AdmissionStage => ({
    name,
    admit: () => {
      log.push(`admit ${name}`)
      const r: Reservation = {
        settle: (o) => log.push(`settle ${name} ${o.status}`),
        release: () => log.push(`release ${name}`),
      }
      return r
    },
  })
  return {
    resolve: {
      resolve: () => {
        log.push('resolve')
        return { model, via: 'name' }
      },
      allowed: () => true,
    },
    estimate: (_req, m) => {
      log.push(`estimate ${m.name}`)
      return { deployment: m.deployments[0], promptTokens: () => 1, maxOutputTokens: undefined, chat: true }
    },
    admission: admission ?? [reserving('rate'), reserving('tokens'), reserving('budget')],
    plan: {
      plan: (ctx) => {
        log.push('plan')
        return { model: ctx.model, strategy: 'model', source: 'global', ranked: [], excluded: [] }
      },
      fallback: () => undefined,
    },
    attempts: {
      run: async (_ctx, _plan, report) => {
        log.push('attempts')
        report.attempt({ requestId: 'req_1', deployment: model.deployments[0]!, operation: 'chat', stream: false, ok: true, status: 200, totalMs: 1 })
        report.outcome(okOutcome)
        return response
      },
    },
    observers: [
      {
        name: 'watch',
        onAttempt: (_ctx, a) => log.push(`observe attempt ${a.status}`),
        onOutcome: (_ctx, o) => log.push(`observe outcome ${o.status}`),
        onRefusal: (_r, e, stage) => log.push(`observe refusal ${stage} ${e.statusCode}`),
      },
    ],
    ...over,
  }
}

test('stages run in the documented order; settlement is in reverse order of admission', async (t) => {
  const log: string[] = []
  const res = await new Pipeline(stages(log)).run(request())
  t.equal(res, response)
  t.same(log, [
    'resolve',
    'estimate m',
    'admit rate',
    'admit tokens',
    'admit budget',
    'plan',
    'attempts',
    'observe attempt 200',
    'observe outcome 200',
    'settle budget 200',
    'settle tokens 200',
    'settle rate 200',
  ])
})

test('a refusal releases only what the stages before it reserved, in reverse, and nothing runs after it', async (t) => {
  const log: string[] = []
  const refuse: AdmissionStage = {
    name: 'budget',
    admit: () => {
      log.push('admit budget')
      throw errors.budgetExceeded('spent')
    },
  }
  const base = stages(log)
  const pipeline = new Pipeline({ ...base, admission: [base.admission[0]!, base.admission[1]!, refuse] })
  await t.rejects(pipeline.run(request()), { statusCode: 402 })
  t.same(log, ['resolve', 'estimate m', 'admit rate', 'admit tokens', 'admit budget', 'release tokens', 'release rate', 'observe refusal budget 402'])
})

test('an unknown model is refused at resolve: no admission at all', async (t) => {
  const log: string[] = []
  const pipeline = new Pipeline(
    stages(log, {
      resolve: {
        resolve: () => {
          throw errors.modelNotFound('x')
        },
        allowed: () => true,
      },
    }),
  )
  await t.rejects(pipeline.run(request()), { statusCode: 404 })
  t.same(log, ['observe refusal resolve 404'])
})

test('a plan with no deployment releases every reservation', async (t) => {
  const log: string[] = []
  const base = stages(log)
  const pipeline = new Pipeline({
    ...base,
    plan: {
      plan: () => {
        log.push('plan')
        throw errors.noDeployment('m')
      },
      fallback: () => undefined,
    },
  })
  await t.rejects(pipeline.run(request()), { statusCode: 503 })
  t.same(log.slice(-5), ['plan', 'release budget', 'release tokens', 'release rate', 'observe refusal plan 503'])
  t.notOk(log.some((l) => l.startsWith('settle')), 'nothing settles: the request never ran')
})

test('a stream settles when it ends, after run() returned, and only once', async (t) => {
  const log: string[] = []
  let report: ((o: Outcome) => void) | undefined
  const pipeline = new Pipeline(
    stages(log, {
      attempts: {
        run: async (_c, _p, r) => {
          report = r.outcome
          return response
        },
      },
    }),
  )
  await pipeline.run({ ...request(), stream: true })
  t.notOk(log.some((l) => l.startsWith('settle')), 'not settled while the stream is open')
  report!({ ...okOutcome, stream: true, status: 499, usageSource: 'estimate' })
  report!({ ...okOutcome, stream: true })
  t.same(log.filter((l) => l.startsWith('settle') || l.startsWith('observe')), ['observe outcome 499', 'settle budget 499', 'settle tokens 499', 'settle rate 499'])
})

test('attempts that throw without an outcome still settle everything', async (t) => {
  const log: string[] = []
  const pipeline = new Pipeline(
    stages(log, {
      attempts: {
        run: async () => {
          throw errors.internal()
        },
      },
    }),
  )
  await t.rejects(pipeline.run(request()), { statusCode: 500 })
  t.same(log.slice(-4), ['observe outcome 500', 'settle budget 500', 'settle tokens 500', 'settle rate 500'])
})

test('a failing observer or settlement is reported and does not stop the others', async (t) => {
  const log: string[] = []
  const problems: string[] = []
  const base = stages(log)
  const pipeline = new Pipeline({
    ...base,
    observers: [
      {
        name: 'broken',
        onOutcome: () => {
          throw new Error('boom')
        },
      },
      ...base.observers,
    ],
    admission: [
      {
        name: 'bad',
        admit: () => ({
          settle: () => {
            throw new Error('settle failed')
          },
          release: () => undefined,
        }),
      },
      ...base.admission,
    ],
    onError: (_e, where) => problems.push(where),
  })
  await pipeline.run(request())
  t.same(problems, ['observer broken', 'settlement'])
  t.ok(log.includes('observe outcome 200'))
  t.ok(log.includes('settle rate 200'))
})

test('preview resolves and plans without admitting or sending', async (t) => {
  const log: string[] = []
  const ctx = new Pipeline(stages(log)).preview(request())
  t.same(log, ['resolve', 'estimate m', 'plan'])
  t.equal(ctx.plan?.strategy, 'model')
  t.equal(ctx.model.name, 'm')
})
