// Prisma CLI configuration. The JavaScript engine keeps every CLI command
// offline (no native schema engine download). SWITCHYARD_DB_PROVIDER picks
// which derived schema the CLI works on; scripts/prisma-generate.mjs sets it.
import { defineConfig } from 'prisma/config'
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3'
import { PrismaPg } from '@prisma/adapter-pg'

const provider = process.env.SWITCHYARD_DB_PROVIDER === 'postgres' ? 'postgres' : 'sqlite'
const url = process.env.DATABASE_URL ?? 'file:./data/switchyard.db'

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: `prisma/generated/${provider}.prisma`,
  migrations: { path: `prisma/migrations/${provider}` },
  adapter: async () =>
    provider === 'postgres'
      ? new PrismaPg({ connectionString: url })
      : new PrismaBetterSQLite3({ url }),
})
