// Rule-based routing. Rules are evaluated by the caller BEFORE the candidates
// are ranked, because they may change the model or the strategy:
//
//   const rule = matchRule(rules, req)
//   rule.action.type === 'model'       -> route to another public model
//   rule.action.type === 'deployments' -> rankByDeploymentIds(candidates, ids)
//   rule.action.type === 'strategy'    -> createStrategy(name).rank(...)
//
// matchRule: the first ENABLED rule whose conditions ALL hold wins (AND of the
// given conditions; a rule with no condition matches everything, use it as a
// catch-all at the end). Conditions:
//   model            glob (see globMatch) on the requested model name
//   keyId, tenant    exact; a request without one never matches
//   header           header name case-insensitive; `equals` exact value,
//                    `matches` glob, neither = header present. For a
//                    multi-valued header one matching value is enough.
//   metadata         metadata[key] is a string, number or boolean whose
//                    String() form equals `equals`
//   min/maxPromptTokens  inclusive bounds on the estimated prompt tokens
//   stream, hasTools exact boolean
//
// 'rules' ranks nothing itself: once a rule applied (or none matched), the
// planner ranks with the rule's strategy or the rules fallback.

import type { Candidate, RankedCandidate, RankingStrategyName } from './types.js'
import { globMatch } from '../routing/glob.js'

export { compileGlob, globCache, globMatch, GLOB_CACHE_MAX, type GlobMatcher } from '../routing/glob.js'

export interface RuleConditions {
  /** Name or glob with `*`. */
  model?: string
  keyId?: string
  tenant?: string
  header?: { name: string; equals?: string; /** glob */ matches?: string }
  metadata?: { key: string; equals: string }
  minPromptTokens?: number
  maxPromptTokens?: number
  stream?: boolean
  hasTools?: boolean
}

export type RuleAction =
  | { type: 'model'; model: string }
  | { type: 'deployments'; deploymentIds: string[] }
  | { type: 'strategy'; strategy: RankingStrategyName }

export interface Rule {
  id: string
  name: string
  enabled: boolean
  conditions: RuleConditions
  action: RuleAction
}

export interface RuleRequest {
  model: string
  keyId?: string
  tenant?: string
  headers: Record<string, string | string[] | undefined>
  metadata?: Record<string, unknown>
  promptTokens: number
  stream: boolean
  hasTools: boolean
}

// ---------------------------------------------------------------------------
// Matching

function headerValues(headers: RuleRequest['headers'], name: string): string[] | undefined {
  const wanted = name.toLowerCase()
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() !== wanted) continue
    const v = headers[key]
    if (v === undefined) continue
    return Array.isArray(v) ? v : [v]
  }
  return undefined
}

function headerHolds(cond: NonNullable<RuleConditions['header']>, req: RuleRequest): boolean {
  const values = headerValues(req.headers, cond.name)
  if (values === undefined) return false
  if (cond.equals === undefined && cond.matches === undefined) return true
  return values.some(
    (v) => (cond.equals === undefined || v === cond.equals) && (cond.matches === undefined || globMatch(cond.matches, v)),
  )
}

function metadataHolds(cond: NonNullable<RuleConditions['metadata']>, req: RuleRequest): boolean {
  if (!req.metadata || !Object.prototype.hasOwnProperty.call(req.metadata, cond.key)) return false
  const v = req.metadata[cond.key]
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return false
  return String(v) === cond.equals
}

/** True when every given condition holds for the request. */
export function ruleMatches(conditions: RuleConditions, req: RuleRequest): boolean {
  const c = conditions
  if (c.model !== undefined && !globMatch(c.model, req.model)) return false
  if (c.keyId !== undefined && req.keyId !== c.keyId) return false
  if (c.tenant !== undefined && req.tenant !== c.tenant) return false
  if (c.header !== undefined && !headerHolds(c.header, req)) return false
  if (c.metadata !== undefined && !metadataHolds(c.metadata, req)) return false
  if (c.minPromptTokens !== undefined && !(req.promptTokens >= c.minPromptTokens)) return false
  if (c.maxPromptTokens !== undefined && !(req.promptTokens <= c.maxPromptTokens)) return false
  if (c.stream !== undefined && req.stream !== c.stream) return false
  if (c.hasTools !== undefined && req.hasTools !== c.hasTools) return false
  return true
}

/** The first enabled rule whose conditions all hold, in list order. */
export function matchRule(rules: Rule[], req: RuleRequest): Rule | undefined {
  for (const rule of rules) {
    if (rule.enabled && ruleMatches(rule.conditions, req)) return rule
  }
  return undefined
}

// ---------------------------------------------------------------------------
// Applying a 'deployments' action

/**
 * The candidates named by a rule, in the rule's order. Ids that are not among
 * the candidates are skipped; candidates not named are excluded.
 */
export function rankByDeploymentIds(candidates: Candidate[], deploymentIds: string[], ruleName?: string): RankedCandidate[] {
  const byId = new Map(candidates.map((c) => [c.id, c]))
  const seen = new Set<string>()
  const out: RankedCandidate[] = []
  for (const id of deploymentIds) {
    const c = byId.get(id)
    if (!c || seen.has(id)) continue
    seen.add(id)
    out.push({
      candidate: c,
      score: out.length,
      reason: `rule${ruleName ? ` "${ruleName}"` : ''} deployment #${out.length + 1}`,
    })
  }
  return out
}
