// Builds a gateway for one test: a fresh SQLite file (a copy of the migrated
// template, see sqlite-template.ts) or a fresh Postgres schema, an inline
// config, silent logs; closed and removed in teardown.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../app.js'
import type { PipelineObserver } from '../../lib/pipeline/types.js'
import { createDb } from '../../lib/storage/client.js'
import { MASTER_KEY, testEnv } from './env.js'
import { sqliteTemplate } from './sqlite-template.js'

export { MASTER_KEY, testEnv }

// Ready before any test asks for a database; built once per run (see sqlite-template.ts).
const template = await sqliteTemplate()

interface Tap {
  teardown(fn: () => unknown): void
}

export interface TestAppOptions {
  gateway: unknown
  env?: Record<string, string | undefined>
  /** Reuse a database URL (restart tests); default a new SQLite file. */
  databaseUrl?: string
  /** Extra pipeline observers (see BuildOptions.observers). */
  observers?: PipelineObserver[]
}

/** A SQLite database of its own, removed in teardown: a copy of the template, migrated and with the catalog stored. */
export function tempSqliteUrl(t: Tap): string {
  const url = emptySqliteUrl(t)
  if (template) copyFileSync(template, url.slice('file:'.length))
  return url
}

/** A SQLite database that does not exist yet (the gateway creates and migrates it), removed in teardown: for tests of migrations. */
export function emptySqliteUrl(t: Tap): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return `file:${join(dir, 'test.db')}`
}

/** A Postgres URL with a fresh schema, dropped in teardown; undefined when TEST_DATABASE_URL is unset. */
export function tempPostgresUrl(t: Tap): string | undefined {
  const base = process.env.TEST_DATABASE_URL
  if (!base) return undefined
  const schema = `sy_test_${randomBytes(6).toString('hex')}`
  const url = new URL(base)
  url.searchParams.set('schema', schema)
  t.teardown(async () => {
    const { db } = await createDb(base)
    try {
      await db.$executeRawUnsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    } finally {
      await db.$disconnect()
    }
  })
  return url.toString()
}

export async function buildTestApp(t: Tap, opts: TestAppOptions): Promise<FastifyInstance> {
  const url = opts.databaseUrl ?? tempSqliteUrl(t)
  const app = await buildApp({ gateway: opts.gateway, env: testEnv(url, opts.env), logger: false, observers: opts.observers })
  t.teardown(() => app.close())
  return app
}

/** Builds and listens on 127.0.0.1:0; returns the base URL. */
export async function listenTestApp(t: Tap, opts: TestAppOptions): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildTestApp(t, opts)
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: address }
}

export const auth = { authorization: `Bearer ${MASTER_KEY}` }

/** A config with one OpenAI-compatible upstream at `url`. */
export function openaiConfig(url: string, extra: Record<string, unknown> = {}) {
  return {
    providers: [{ name: 'up', type: 'openai', baseUrl: `${url}/v1`, apiKey: 'sk-upstream-secret' }],
    models: [
      {
        name: 'gpt-test',
        aliases: ['gpt-test-alias'],
        deployments: [{ provider: 'up', model: 'upstream-model-1', pricing: { input: 1, output: 2 } }],
      },
      { name: 'embed-test', deployments: [{ provider: 'up', model: 'upstream-embed' }] },
    ],
    routing: { strategy: 'model' },
    ...extra,
  }
}
