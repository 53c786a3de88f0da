// Per-deployment RPM/TPM caps (YAML deployments[].rpm/.tpm) take part in two
// stages. Admission: with counters shared through Redis, the totals of the
// model's capped deployments are read first, so that the (synchronous)
// planner sees what every instance sent. Attempts: each attempt on a capped
// deployment is counted as it starts (a gate), its tokens once it ends (an
// observer). A deployment at its cap is left out of the plan.
import type { DeploymentCaps } from '../../limits/deployment-caps.js'
import type { AdmissionStage, PipelineObserver } from '../types.js'
import { totalTokens } from './token-limit.js'

export function createCapsRefreshStage(caps: DeploymentCaps, onError: (err: unknown) => void): AdmissionStage {
  return {
    name: 'deployment-caps',
    async admit(ctx) {
      await caps.refresh(ctx.model.deployments).catch(onError)
      return undefined
    },
  }
}

export function createCapsObserver(caps: DeploymentCaps, track: (update: Promise<unknown>) => void): PipelineObserver {
  return {
    name: 'deployment-caps',
    onAttempt(_ctx, attempt) {
      const tokens = totalTokens(attempt.usage)
      if (tokens > 0) track(caps.countTokens(attempt.deployment, tokens))
    },
  }
}
