// The whole routing configuration as one YAML document (the gateway.yaml
// shape): export what the database holds, import a document as admin-owned
// state.
//
// Export: produced from the database (YAML-seeded and admin-made rows alike).
// Secrets are not exported: literal apiKey values read "${REDACTED}", and the
// values of headers whose name looks like a credential "[REDACTED]"; bare
// ${VAR} references are kept. A header comment lists what was redacted, and
// the x-switchyard-redacted response header counts it.
//
// Import: YAML (application/yaml, text/plain) or JSON, validated like the
// YAML file (every problem reported with its path, 400) except that the
// server's environment is never read: ${VAR} is accepted in apiKey only and
// kept as a reference (only to variables PROVIDER_KEY_VARS allows). A
// "${REDACTED}" / "[REDACTED]" placeholder keeps the secret stored for that
// provider, so an export can be imported back as is, unless the document moves
// the provider to another origin (then the secret must be sent again).
// Imported providers become admin-owned, so their baseUrl must pass the
// upstream guard (public addresses or ADMIN_UPSTREAM_ALLOW).
// On success it is applied in one transaction as admin-owned rows (the YAML
// seed leaves them alone): providers, models with exactly the deployments listed, and the
// routing settings the document gives. ?mode=replace also deletes the
// providers and models the document does not list, and resets the routing
// settings it does not give to their defaults.
import { Type } from '@sinclair/typebox'
import { parse as parseYaml, stringify } from 'yaml'
import { adminErrors as errs } from '../../lib/admin/errors.js'
import {
  assertConfigUnchanged, envReferenceProblems, maskProvider, originOf, paramOf, providerUpstreamProblems, REDACTED, REDACTED_HEADER, restoreSecrets,
  rethrowNonBodyValidation, secretsFollowingProblems, withDefaults,
} from '../../lib/admin/config-state.js'
import { upstreamPolicy } from '../../lib/security/upstream-guard.js'
import { GatewayConfigSchema, parseGatewayConfig, schemaProblems, type GatewayConfig } from '../../lib/config/gateway-config.js'
import { ConfigError } from '../../lib/config/env.js'
import { deploymentRows, loadConfig, modelRow, providerRow, ROUTING_SETTINGS } from '../../lib/storage/config-store.js'
import type { FastifyPluginAsyncTypebox } from '../type-provider.js'
import { actorOf, adminSecurity } from './hooks.js'
import { adminErrorResponses } from './schemas.js'

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml']

const ImportQuery = Type.Object({
  mode: Type.Optional(
    Type.Union([Type.Literal('merge'), Type.Literal('replace')], {
      description: 'merge (default): upsert what the document lists. replace: also delete providers and models it does not list.',
    }),
  ),
})

const ImportReport = Type.Object({
  mode: Type.String(),
  created: Type.Array(Type.String()),
  updated: Type.Array(Type.String()),
  deleted: Type.Array(Type.String()),
  settings: Type.Array(Type.String({ description: 'Routing settings written' })),
  ignored: Type.Array(Type.String({ description: 'Top-level sections not applied (they are read from the YAML file only, e.g. limits)' })),
})

function masked(cfg: GatewayConfig, mode: 'export' | 'view'): { config: GatewayConfig; redacted: string[] } {
  const redacted: string[] = []
  const providers = cfg.providers.map((p, i) => {
    const m = maskProvider(p, mode)
    if (m.apiKey !== p.apiKey) redacted.push(`providers[${i}].apiKey`)
    for (const k of Object.keys(p.headers ?? {})) if (m.headers?.[k] !== p.headers?.[k]) redacted.push(`providers[${i}].headers.${k}`)
    return m
  })
  return { config: { ...cfg, providers }, redacted }
}

/** Re-labels problems about stored entries appended after the document's own (merge mode). */
function relabel(problems: string[], target: GatewayConfig, own: { providers: number; models: number }): string[] {
  const label = (kind: 'models' | 'providers', i: number) => `stored ${kind === 'models' ? 'model' : 'provider'} ${JSON.stringify(target[kind][i]?.name)}`
  return problems.map((p) =>
    p
      .replace(/^(models|providers)\[(\d+)\]/, (m, kind: 'models' | 'providers', i: string) => (Number(i) >= own[kind] ? label(kind, Number(i)) : m))
      .replace(/used by models\[(\d+)\]/, (m, i: string) => (Number(i) >= own.models ? `used by ${label('models', Number(i))}` : m)),
  )
}

function invalid(problems: string[]): never {
  throw errs.invalid(`The configuration is invalid: ${problems.join('; ')}`, paramOf(problems[0]!))
}

const configRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Bodies are validated in the handlers (attachValidation); querystring and params are not.
  app.addHook('preHandler', async (request) => rethrowNonBodyValidation(request))
  const upstream = upstreamPolicy(app.config.env.ADMIN_UPSTREAM_ALLOW)
  // Encapsulated: YAML bodies are accepted under this plugin only (text/plain
  // is Fastify's built-in string parser).
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_request, body, done) => done(null, body))

  app.get('/config/export', {
    schema: {
      tags: ['Admin'],
      summary: 'The routing configuration in force, as gateway.yaml (secrets redacted)',
      security: adminSecurity,
      response: {
        200: { description: 'YAML document', content: { 'application/yaml': { schema: { type: 'string' } } } },
        ...adminErrorResponses,
      },
    },
  }, async (_request, reply) => {
    const { config, redacted } = masked(await loadConfig(app.db), 'export')
    const header = [
      '# Switchyard routing configuration, exported from the database.',
      `# Secrets are not exported: literal API keys read "${REDACTED}" and credential-like header values`,
      `# "${REDACTED_HEADER}"; \${VAR} references are kept. POST this file to /admin/config/import to apply it:`,
      '# the placeholders keep the secrets stored for those providers.',
      `# Redacted: ${redacted.length ? redacted.join(', ') : 'nothing'}`,
    ]
    return reply
      .type('application/yaml; charset=utf-8')
      .header('x-switchyard-redacted', String(redacted.length))
      .send(`${header.join('\n')}\n${stringify(config)}`)
  })

  app.post('/config/import', {
    schema: {
      tags: ['Admin'],
      summary: 'Apply a gateway.yaml document (YAML or JSON) as admin-owned configuration, in one transaction',
      security: adminSecurity,
      querystring: ImportQuery,
      body: {
        content: {
          'application/yaml': { schema: { type: 'string' } },
          'text/plain': { schema: { type: 'string' } },
          'application/json': { schema: GatewayConfigSchema },
        },
      },
      response: { 200: ImportReport, ...adminErrorResponses },
    },
    attachValidation: true,
  }, async (request) => {
    const mode = request.query.mode ?? 'merge'
    // Fastify stops at the first invalid part, so a bad body could hide a bad mode.
    if (mode !== 'merge' && mode !== 'replace') throw errs.invalid(`mode: expected "merge" or "replace"`, 'mode')
    let doc: unknown = request.body
    if (typeof doc === 'string') {
      try {
        doc = parseYaml(doc)
      } catch (err) {
        invalid([`(root): YAML syntax: ${(err as Error).message.split('\n')[0]}`])
      }
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) invalid(['(root): expected a mapping with providers, models and routing'])
    doc = structuredClone(doc)
    const raw = doc as { providers?: unknown; routing?: unknown }

    const current = await loadConfig(app.db)
    // Placeholders first: "${REDACTED}" must not be read as a variable reference.
    const problems: string[] = []
    if (Array.isArray(raw.providers)) {
      raw.providers.forEach((p: unknown, i) => {
        if (!p || typeof p !== 'object') return
        const sent = p as Record<string, unknown>
        const stored = current.providers.find((s) => s.name === sent.name)
        // A stored secret kept by a placeholder may not follow the provider to another origin.
        if (stored) problems.push(...secretsFollowingProblems(stored, sent, originOf({ ...sent, type: sent.type ?? stored.type }), 'import', `providers[${i}]`))
        problems.push(...restoreSecrets(sent, stored, `providers[${i}]`))
      })
    }
    problems.push(...envReferenceProblems(doc))
    if (problems.length) invalid(problems)

    const imported = withDefaults<GatewayConfig>(GatewayConfigSchema, doc)
    const shape = schemaProblems(GatewayConfigSchema, imported)
    if (shape.length) invalid(shape)

    // References are checked against what the database will hold afterwards.
    const providerNames = new Set(imported.providers.map((p) => p.name))
    const modelNames = new Set(imported.models.map((m) => m.name))
    const target: GatewayConfig =
      mode === 'replace'
        ? imported
        : {
            providers: [...imported.providers, ...current.providers.filter((p) => !providerNames.has(p.name))],
            models: [...imported.models, ...current.models.filter((m) => !modelNames.has(m.name))],
            routing: { ...current.routing, ...imported.routing },
          }
    try {
      // The environment is not read; only the key policy is given, so apiKey references are checked against it.
      parseGatewayConfig(target, { PROVIDER_KEY_VARS: app.config.env.PROVIDER_KEY_VARS })
    } catch (err) {
      if (err instanceof ConfigError) invalid(relabel(err.problems, target, { providers: imported.providers.length, models: imported.models.length }))
      throw err
    }
    // Every imported provider becomes admin-owned: its destination is checked like a POST's.
    const unreachable = (await Promise.all(imported.providers.map((p, i) => providerUpstreamProblems(p, upstream, `providers[${i}]`)))).flat()
    if (unreachable.length) invalid(unreachable)

    const givenRouting = raw.routing && typeof raw.routing === 'object' ? Object.keys(raw.routing) : []
    const routing = imported.routing as Record<string, unknown>
    const defaults: Record<string, unknown> = { strategy: 'model', patterns: [] }
    const settingValue = (key: string) => {
      const field = key.slice('routing.'.length)
      return routing[field] ?? defaults[field] ?? null
    }
    const settings = ROUTING_SETTINGS.filter((key) => mode === 'replace' || givenRouting.includes(key.slice('routing.'.length)))
    // Top-level sections the database does not hold (e.g. limits) stay with the YAML file.
    const ignored = Object.keys(imported).filter((k) => !['providers', 'models', 'routing'].includes(k))
    const report = { mode, created: [] as string[], updated: [] as string[], deleted: [] as string[], settings: [...settings], ignored }

    // Checked against `current` (host names resolved on the way); the
    // transaction makes sure it is still what the database holds.
    const auditConfig = (cfg: GatewayConfig) => masked(cfg, 'view').config
    return app.configService.write({ actor: actorOf(request), kinds: ['routing', 'pricing', 'rules'] }, async (tx) => {
      await assertConfigUnchanged(tx, current)
      if (mode === 'replace') {
        for (const m of current.models) {
          if (modelNames.has(m.name)) continue
          await tx.model.delete({ where: { name: m.name } })
          report.deleted.push(`model ${m.name}`)
        }
        for (const p of current.providers) {
          if (providerNames.has(p.name)) continue
          await tx.provider.delete({ where: { name: p.name } })
          report.deleted.push(`provider ${p.name}`)
        }
      }
      for (const p of imported.providers) {
        const row = providerRow(p, 'admin')
        const exists = await tx.provider.findUnique({ where: { name: p.name } })
        if (exists) await tx.provider.update({ where: { id: exists.id }, data: row })
        else await tx.provider.create({ data: row })
        report[exists ? 'updated' : 'created'].push(`provider ${p.name}`)
      }
      for (const m of imported.models) {
        const row = modelRow(m, 'admin')
        const exists = await tx.model.findUnique({ where: { name: m.name } })
        if (exists) await tx.model.update({ where: { id: exists.id }, data: row })
        else await tx.model.create({ data: row })
        report[exists ? 'updated' : 'created'].push(`model ${m.name}`)
        const rows = deploymentRows(m, 'admin')
        await tx.deployment.deleteMany({ where: { modelId: m.name, id: { notIn: rows.map((d) => d.id) } } })
        for (const d of rows) await tx.deployment.upsert({ where: { id: d.id }, create: d, update: d })
      }
      for (const key of settings) {
        const value = JSON.stringify(settingValue(key))
        await tx.setting.upsert({ where: { key }, create: { key, value, source: 'admin' }, update: { value, source: 'admin' } })
      }
      return { result: report, audit: { action: 'config.import', target: mode, before: auditConfig(current), after: auditConfig(await loadConfig(tx)) } }
    })
  })
}

export default configRoutes
