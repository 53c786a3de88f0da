// The database client: created on start, migrated, closed with the app.
import fp from 'fastify-plugin'
import { fileURLToPath } from 'node:url'
import { basename, dirname, join } from 'node:path'
import { createDb, postgresSchema, type Db, type DbProvider } from '../lib/storage/client.js'
import { migrate } from '../lib/storage/migrate.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    dbProvider: DbProvider
    /** Postgres schema from DATABASE_URL (?schema=), for raw statements. */
    dbSchema?: string
  }
}

// Works from the source tree (tests) and from dist/ (npm start).
const parent = join(dirname(fileURLToPath(import.meta.url)), '..')
export const projectRoot = basename(parent) === 'dist' ? join(parent, '..') : parent

export default fp(
  async (app) => {
    const url = app.config.env.DATABASE_URL
    const { db, provider } = await createDb(url)
    const schema = provider === 'postgres' ? postgresSchema(url) : undefined
    const applied = await migrate(db, provider, projectRoot, schema)
    if (applied.length) app.log.info({ applied, provider }, 'database migrations applied')
    app.decorate('db', db)
    app.decorate('dbProvider', provider)
    app.decorate('dbSchema', schema)
    app.addHook('onClose', async () => {
      await db.$disconnect()
    })
  },
  { name: 'prisma', dependencies: ['config'] },
)
