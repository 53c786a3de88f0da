// The life of a request, in order. Every entry point (the /v1 routes, the
// embedded plugin, direct mode) runs requests through Pipeline.run, so
// permissions, limits, budgets, cost and records hold for all of them.
//
//   1. identity     the transport authenticated the caller (request.identity)
//   2. resolve      the requested model's routing entry; may the caller use it?
//   3. admission    each AdmissionStage in order (rate, tokens per minute,
//                   budgets): refuses by throwing, or reserves what the
//                   request may use. A refusal releases what the stages
//                   before it reserved, in reverse order.
//   4. plan         the strategy ranks the deployments; none left = refused
//                   (reservations released)
//   5. attempts     deployment after deployment: gates (circuit breaker,
//                   caps), retries, fallback models (each allowed again)
//   6. observation  observers see the request start, every attempt as it
//                   ends, and the outcome once the answer is ready
//   7. settlement   once the outcome is known (for a stream: when it ends,
//                   however it ends), each reservation settles to what the
//                   request really used, in reverse order of admission
//
// Stages are typed (types.ts) and handed in whole; nothing registers itself
// into another module at runtime. Fastify-free: tests assemble a pipeline
// from fake stages.
import type { GatewayError } from '../errors.js'
import type { AttemptRecord, ProxyResponse } from '../proxy/types.js'
import type {
  Outcome,
  PipelineRequest,
  PipelineStages,
  RequestContext,
  Reservation,
} from './types.js'

export class Pipeline {
  constructor(private readonly stages: PipelineStages) {}

  /** Runs a request through every stage; the response body may still be streaming. */
  async run(request: PipelineRequest): Promise<ProxyResponse> {
    const ctx = this.resolve(request)
    const reservations = await this.admit(ctx)

    // The outcome is observed once the answer is ready, so that it carries
    // the gateway's overhead (the x-switchyard-overhead-ms figure); a
    // stream's comes later, when it ends.
    let settled = false
    let ready = false
    let pending: Outcome | undefined
    const complete = (outcome: Outcome) => {
      settled = true
      outcome.durationMs ??= performance.now() - ctx.startedAt
      outcome.overheadMs ??= ctx.overheadMs
      if (outcome.stream && ctx.firstByteMs !== undefined) outcome.ttftMs = ctx.firstByteMs
      this.observeOutcome(ctx, outcome)
      this.settle(reservations, outcome)
    }
    const finish = (outcome: Outcome) => {
      if (settled || pending) return
      if (ready) complete(outcome)
      else pending = outcome
    }

    try {
      ctx.plan = this.stages.plan.plan(ctx, 'run')
    } catch (err) {
      this.release(reservations)
      this.refused(request, err, 'plan')
      throw err
    }
    this.start(ctx)

    try {
      const response = await this.stages.attempts.run(ctx, ctx.plan, {
        attempt: (record) => this.observeAttempt(ctx, record),
        outcome: finish,
      })
      const now = performance.now()
      response.overheadMs = Math.max(0, now - ctx.startedAt - response.upstreamMs)
      ctx.overheadMs = response.overheadMs
      if (ctx.stream) ctx.firstByteMs = now - ctx.startedAt
      if (ctx.responseHeaders) Object.assign(response.headers, ctx.responseHeaders)
      ready = true
      if (pending) complete(pending)
      return response
    } catch (err) {
      ready = true
      if (pending) complete(pending)
      // The attempts stage reports an outcome before it throws; this only
      // catches a bug there, so that nothing stays reserved.
      else if (!settled) complete({ status: (err as GatewayError).statusCode ?? 500, attempts: 0, stream: ctx.stream, usageSource: 'none', error: (err as GatewayError).code ?? 'internal_error' })
      throw err
    }
  }

  /** Stages 1, 2 and 4 only, nothing reserved or sent: what the request would do (cost estimates). */
  preview(request: PipelineRequest): RequestContext {
    const ctx = this.resolve(request)
    ctx.plan = this.stages.plan.plan(ctx, 'preview')
    return ctx
  }

  /** Stage 2. */
  private resolve(request: PipelineRequest): RequestContext {
    let resolved
    try {
      resolved = this.stages.resolve.resolve(request)
    } catch (err) {
      this.refused(request, err, 'resolve')
      throw err
    }
    // The request object becomes the context: no copy per request.
    const ctx = request as RequestContext
    ctx.created = Math.floor(Date.now() / 1000)
    ctx.model = resolved.model
    ctx.via = resolved.via
    ctx.estimate = this.stages.estimate(request, resolved.model)
    return ctx
  }

  /** Stage 3: in order; a refusal gives back what the earlier stages reserved. */
  private async admit(ctx: RequestContext): Promise<Reservation[]> {
    const reservations: Reservation[] = []
    for (const stage of this.stages.admission) {
      try {
        const reservation = await stage.admit(ctx)
        if (reservation) reservations.push(reservation)
      } catch (err) {
        this.release(reservations)
        this.refused(ctx, err, stage.name)
        throw err
      }
    }
    return reservations
  }

  /** Stage 6 begins: the request is about to be sent (observers may add upstream headers). */
  private start(ctx: RequestContext): void {
    for (const o of this.stages.observers) {
      if (!o.onStart) continue
      try {
        o.onStart(ctx)
      } catch (err) {
        this.stages.onError?.(err, `observer ${o.name}`)
      }
    }
  }

  /** Stage 6, per attempt. */
  private observeAttempt(ctx: RequestContext, record: AttemptRecord): void {
    for (const o of this.stages.observers) {
      if (!o.onAttempt) continue
      try {
        o.onAttempt(ctx, record)
      } catch (err) {
        this.stages.onError?.(err, `observer ${o.name}`)
      }
    }
  }

  /** Stage 6, the outcome. */
  private observeOutcome(ctx: RequestContext, outcome: Outcome): void {
    for (const o of this.stages.observers) {
      if (!o.onOutcome) continue
      try {
        o.onOutcome(ctx, outcome)
      } catch (err) {
        this.stages.onError?.(err, `observer ${o.name}`)
      }
    }
  }

  /** Stage 7: reverse order of admission. */
  private settle(reservations: Reservation[], outcome: Outcome): void {
    for (let i = reservations.length - 1; i >= 0; i--) {
      try {
        reservations[i]!.settle(outcome)
      } catch (err) {
        this.stages.onError?.(err, 'settlement')
      }
    }
  }

  private release(reservations: Reservation[]): void {
    for (let i = reservations.length - 1; i >= 0; i--) {
      try {
        reservations[i]!.release()
      } catch (err) {
        this.stages.onError?.(err, 'release')
      }
    }
  }

  private refused(request: PipelineRequest, err: unknown, stage: string): void {
    for (const o of this.stages.observers) {
      if (!o.onRefusal) continue
      try {
        o.onRefusal(request, err as GatewayError, stage)
      } catch (e) {
        this.stages.onError?.(e, `observer ${o.name}`)
      }
    }
  }
}
