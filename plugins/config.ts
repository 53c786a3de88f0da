// Loads and validates env and the YAML gateway config once, before anything else.
import fp from 'fastify-plugin'
import { loadEnv, resolveConfigPath, type Env } from '../lib/config/env.js'
import { loadGatewayConfig, parseGatewayConfig, type GatewayConfig } from '../lib/config/gateway-config.js'

export interface AppConfig {
  env: Env
  gateway: GatewayConfig
  configPath: string
}

declare module 'fastify' {
  interface FastifyInstance {
    config: AppConfig
  }
}

export interface ConfigPluginOptions {
  env?: Record<string, string | undefined>
  /** A config object instead of a file (tests, embedding). */
  gateway?: unknown
}

export function loadAppConfig(opts: ConfigPluginOptions = {}): AppConfig {
  const source = opts.env ?? process.env
  const env = loadEnv(source)
  if (opts.gateway !== undefined) return { env, gateway: parseGatewayConfig(opts.gateway, source), configPath: '(inline)' }
  const configPath = resolveConfigPath(env)
  return { env, gateway: loadGatewayConfig(configPath, source), configPath }
}

export default fp<{ config: AppConfig }>(
  async (app, opts) => {
    app.decorate('config', opts.config)
  },
  { name: 'config' },
)
