// Gateway-wide traffic for the dashboard's overview (lib/stats/traffic.ts),
// in memory, per instance; fed by the pipeline's traffic observer
// (lib/pipeline/observers/traffic.ts).
import fp from 'fastify-plugin'
import { TrafficStats } from '../lib/stats/traffic.js'

declare module 'fastify' {
  interface FastifyInstance {
    traffic: TrafficStats
  }
}

export default fp(
  async (app) => {
    app.decorate('traffic', new TrafficStats())
  },
  { name: 'traffic' },
)
