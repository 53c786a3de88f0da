import { Type, type TSchema } from '@sinclair/typebox'
import { ErrorBody } from '../v1/schemas.js'
import { STRATEGY_NAMES } from '../../lib/strategies/index.js'

export const StrategyName = Type.Union(STRATEGY_NAMES.map((s) => Type.Literal(s)))

/** The error responses every admin route documents; the errors themselves are lib/admin/errors.ts's adminErrors. */
// Annotated (declaration emit needs a nameable type) with the body's own type,
// not TSchema: a TSchema reply reads as `unknown` and would let handlers return anything.
export const adminErrorResponses: Record<400 | 401 | 403 | 404 | 409 | 503, typeof ErrorBody & { description: string }> = {
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
