// Derives one Prisma schema per database provider from prisma/schema.prisma
// and generates a client for each. Runs offline: the "client" engine type is
// pure JavaScript, so no engine binary is downloaded.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const source = readFileSync(join(root, 'prisma/schema.prisma'), 'utf8')
// Placeholder URLs: generate never connects, but the CLI checks the URL's
// scheme against the schema's provider before it picks the JS engine.
const providers = {
  sqlite: { provider: 'sqlite', url: 'file:./data/unused.db' },
  postgres: { provider: 'postgresql', url: 'postgresql://localhost/unused' },
}
const only = process.argv[2]

mkdirSync(join(root, 'prisma/generated'), { recursive: true })
for (const [name, { provider, url }] of Object.entries(providers)) {
  if (only && only !== name) continue
  const schema = source
    .replace(/provider\s*=\s*"sqlite"/, `provider = "${provider}"`)
    .replace(/output\s*=\s*"[^"]*"/, `output     = "../../generated/${name}"`)
  const path = join(root, 'prisma/generated', `${name}.prisma`)
  writeFileSync(path, `// GENERATED from prisma/schema.prisma by scripts/prisma-generate.mjs; do not edit.\n${schema}`)
  execFileSync(process.execPath, [join(root, 'node_modules/prisma/build/index.js'), 'generate'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', SWITCHYARD_DB_PROVIDER: name, DATABASE_URL: url },
  })
}
