// Label values with bounded cardinality, whatever clients send.
//
// Two rules: model labels come from configuration (a model's name, or the
// pattern of a pattern route), never from the request; and every label has an
// overflow guard, so a value beyond the first N distinct ones of that label is
// reported as "other". The guard is the safety net for values the gateway does
// not choose (an upstream's response model, error identifiers).

export const OVERFLOW_LABEL = 'other'
export const DEFAULT_MAX_LABEL_VALUES = 500
/** Label values longer than this are cut: a label is an identifier, not a payload. */
export const MAX_LABEL_LENGTH = 128

/** The routing entry a request resolved to, as far as labels need it. */
export interface ModelLike {
  name: string
  /** The route pattern this entry was synthesized from (pattern routes). */
  pattern?: string
  /** True for entries synthesized from a pattern route (their name is the client's string). */
  fromPattern?: boolean
}

/** Placeholder for a request that resolved to no model (unknown model, refused before routing). */
export const UNRESOLVED_MODEL = 'unresolved'
/** A pattern entry whose pattern is not known: its name is the client's string, so it is not used. */
export const PATTERN_MODEL = 'pattern'

/** The metric label of a resolved model: its configured name, or its route pattern. */
export function modelLabelOf(model: ModelLike | undefined): string {
  if (!model) return UNRESOLVED_MODEL
  if (model.pattern) return model.pattern
  if (model.fromPattern) return PATTERN_MODEL
  return model.name
}

/** "2xx", "4xx", "5xx"...; anything outside 100..599 is "other". */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : OVERFLOW_LABEL
}

/**
 * Caps the distinct values of each label name. Values already seen pass
 * through; past `max` distinct values, new ones become "other". Empty means
 * "not applicable" (Prometheus treats an empty label as absent).
 */
export class LabelGuard {
  private readonly seen = new Map<string, Set<string>>()

  constructor(readonly max = DEFAULT_MAX_LABEL_VALUES) {}

  value(label: string, value: string | undefined | null): string {
    if (value === undefined || value === null || value === '') return ''
    const v = value.length > MAX_LABEL_LENGTH ? value.slice(0, MAX_LABEL_LENGTH) : value
    let set = this.seen.get(label)
    if (!set) {
      set = new Set()
      this.seen.set(label, set)
    }
    if (set.has(v)) return v
    if (set.size >= this.max) return OVERFLOW_LABEL
    set.add(v)
    return v
  }

  /** Distinct values admitted so far for a label (tests, diagnostics). */
  size(label: string): number {
    return this.seen.get(label)?.size ?? 0
  }
}
