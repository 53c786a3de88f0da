// Orders the deployments of a resolved model into the attempt list.
import fp from 'fastify-plugin'
import type { DeploymentEntry, ModelEntry } from '../lib/routing/table.js'

export interface RankInput {
  model: ModelEntry
  stream: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    strategy: { rank(input: RankInput): DeploymentEntry[] }
  }
}

export default fp(
  async (app) => {
    app.decorate('strategy', {
      rank({ model }: RankInput) {
        return model.deployments.filter((d) => d.enabled)
      },
    })
  },
  { name: 'strategy', dependencies: ['model-routing'] },
)
