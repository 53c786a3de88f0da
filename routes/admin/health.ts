import { Type } from '@sinclair/typebox'
import { cooldownSettings } from '../../lib/resilience/circuit.js'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { adminSecurity } from './hooks.js'
import { adminErrorResponses } from './schemas.js'

const DeploymentState = Type.Object({
  id: Type.String(),
  model: Type.String(),
  provider: Type.String(),
  upstreamModel: Type.String(),
  enabled: Type.Boolean(),
  state: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')], {
    description: 'closed: takes traffic; open: cooling down, skipped; half_open: cool-down over, one probe request at a time',
  }),
  failures: Type.Integer({ description: 'Deployment faults within the window (closed state)' }),
  consecutiveFailures: Type.Integer(),
  openUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'End of the cool-down' }),
  cooldownMs: Type.Integer({ description: 'Length of the current cool-down (doubles after each failed probe)' }),
  probeInFlight: Type.Boolean(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastFailureAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})

const Settings = Type.Object({
  enabled: Type.Boolean(),
  failures: Type.Integer(),
  windowMs: Type.Integer(),
  consecutiveFailures: Type.Integer(),
  cooldownMs: Type.Integer(),
  maxCooldownMs: Type.Integer(),
  probeLeaseMs: Type.Integer(),
})

const HealthList = Type.Object({
  data: Type.Array(DeploymentState),
  settings: Settings,
  store: Type.Union([Type.Literal('memory'), Type.Literal('redis')]),
})

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const healthAdminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health/deployments', {
    schema: {
      tags: ['Admin'],
      summary: 'Circuit-breaker state of every deployment in the routing table',
      security: adminSecurity,
      response: { 200: HealthList, ...adminErrorResponses },
    },
  }, async () => {
    const table = app.modelRouting.table
    const data = [...table.deployments.values()].map((d) => {
      const h = app.cooldown.health(d.id)
      return {
        id: d.id,
        model: d.model,
        provider: d.provider,
        upstreamModel: d.upstreamModel,
        enabled: d.enabled,
        state: h.state,
        failures: h.failures,
        consecutiveFailures: h.consecutiveFailures,
        openUntil: iso(h.openUntil),
        cooldownMs: h.cooldownMs,
        probeInFlight: h.probeInFlight,
        lastError: h.lastError,
        lastFailureAt: iso(h.lastFailureAt),
      }
    })
    return { data, settings: cooldownSettings(table.cooldown), store: app.redis ? 'redis' as const : 'memory' as const }
  })
}

export default healthAdminRoutes
