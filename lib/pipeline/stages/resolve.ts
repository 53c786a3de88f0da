// Stage 2: the requested model's routing entry, and the one permission rule
// (a key's allowedModels) applied wherever a model is reached: here, after a
// routing rule moves the request, and for every fallback model.
import { errors } from '../../errors.js'
import { modelAllowed, type KeyIdentity } from '../../keys/keys.js'
import { globMatch } from '../../routing/glob.js'
import { estimatePromptTokens } from '../../proxy/usage.js'
import { requestedMaxTokens } from '../../strategies/expected-completion.js'
import type { ModelEntry, RoutingTable } from '../../routing/table.js'
import type { PipelineRequest, RequestEstimate, ResolveStage } from '../types.js'

/** Whether a key may use a model (by its public name; globs allowed in the key's list). */
export function mayUse(identity: KeyIdentity, model: Pick<ModelEntry, 'name'>): boolean {
  return modelAllowed(identity, model.name, globMatch)
}

export function createResolveStage(table: () => RoutingTable): ResolveStage {
  return {
    resolve(request) {
      const requested = request.body.model
      const resolution = table().resolve(requested)
      if (!resolution) throw errors.modelNotFound(requested)
      if (!mayUse(request.identity, resolution.model)) throw errors.modelNotAllowed(requested)
      return resolution
    },
    allowed: mayUse,
  }
}

/**
 * What admission reserves against, counted on the model's first deployment
 * that can take traffic (its tokenizer); prompt tokens only when a stage asks.
 */
export function createEstimate(request: PipelineRequest, model: ModelEntry): RequestEstimate {
  const deployment = model.deployments.find((d) => d.enabled) ?? model.deployments[0]
  const chat = request.operation === 'chat'
  let prompt: number | undefined
  return {
    deployment,
    chat,
    maxOutputTokens: chat ? requestedMaxTokens(request.body as { max_tokens?: unknown; max_completion_tokens?: unknown }) : 0,
    promptTokens: () => (prompt ??= deployment ? estimatePromptTokens(request.body, deployment) : 0),
  }
}
