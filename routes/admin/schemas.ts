import { Type, type TSchema } from '@sinclair/typebox'
import { ErrorBody } from '../v1/schemas.js'
import { STRATEGY_NAMES } from '../../lib/strategies/index.js'

export const StrategyName = Type.Union(STRATEGY_NAMES.map((s) => Type.Literal(s)))

/** The error responses every admin route documents; the errors themselves are lib/admin/errors.ts's adminErrors. */
export const adminErrorResponses = {
  400: { description: 'Invalid input (the message names the field)', ...ErrorBody },
  401: { description: 'Missing, expired or invalid token', ...ErrorBody },
  403: { description: 'Viewer token on a write', ...ErrorBody },
  404: { description: 'Not found', ...ErrorBody },
  409: { description: 'Conflict', ...ErrorBody },
  503: { description: 'Admin API disabled (no JWT_SECRET)', ...ErrorBody },
}

export const IdParams = Type.Object({ id: Type.String({ minLength: 1 }) })

export function listOf<T extends TSchema>(item: T) {
  return Type.Object({ data: Type.Array(item) })
}
