// Runs the gateway: the only place that listens and handles signals.
import closeWithGrace from 'close-with-grace'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { buildApp } from './app.js'
import { loadAppConfig } from './plugins/config.js'
import { ConfigError } from './lib/config/env.js'
import { generateKey, hashKey, keyPrefix } from './lib/keys/keys.js'

// A local .env is read when present (variables already set win).
if (existsSync('.env')) process.loadEnvFile('.env')

let config
try {
  config = loadAppConfig()
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`switchyard: ${err.message}`)
    process.exit(1)
  }
  throw err
}

const app = await buildApp({ config })

// First run with no MASTER_KEY and no keys: create one gateway key so the
// quick start works, and write it (not log it) to a file only this user reads.
if (!config.env.MASTER_KEY && (await app.db.apiKey.count()) === 0) {
  const key = generateKey()
  const file = resolve('data/bootstrap-key')
  mkdirSync(dirname(file), { recursive: true })
  await app.db.apiKey.create({ data: { id: `key_${hashKey(key).slice(0, 16)}`, name: 'bootstrap', hash: hashKey(key), prefix: keyPrefix(key) } })
  writeFileSync(file, `${key}\n`, { mode: 0o600 })
  await app.keys.reload()
  app.log.warn(`no MASTER_KEY set: created a first gateway key and wrote it to ${file}`)
}

// Shutdown: stop accepting and let requests and streams finish for
// SHUTDOWN_GRACE_MS. Streams still open then are ended (the upstream is
// aborted, the client gets an SSE error event) and recorded with what was
// relayed so far; closing then flushes the records. The process is forced
// out only RECORDS_MARGIN_MS after the grace, so that last step has time.
const graceMs = Number(process.env.SHUTDOWN_GRACE_MS ?? 10_000)
const RECORDS_MARGIN_MS = 5_000
/** How long ended streams get to deliver their error event before their connection is cut. */
const STREAM_END_WAIT_MS = 1_000

closeWithGrace({ delay: graceMs + RECORDS_MARGIN_MS }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'shutting down after an error')
  else app.log.info({ signal }, 'shutting down')
  const timer = setTimeout(() => {
    const open = app.engine.streamsOpen
    if (open > 0) app.log.warn({ streams: open }, 'shutdown grace over: ending the streams still open and recording them')
    void app.engine.endStreams(STREAM_END_WAIT_MS)
  }, graceMs)
  try {
    await app.close()
  } finally {
    clearTimeout(timer)
  }
})

try {
  const address = await app.listen({ port: config.env.PORT, host: config.env.HOST })
  app.log.info(`Switchyard on ${address} (config ${config.configPath}, ${app.dbProvider}); API docs at /docs`)
} catch (err) {
  app.log.error({ err }, 'failed to start')
  process.exit(1)
}
