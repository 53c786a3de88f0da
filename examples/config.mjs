// The configuration the examples share: the built-in mock provider answers
// in-process, so they run with no API key. Use the shape of gateway.example.yaml.
export const config = {
  providers: [{ name: 'mock', type: 'mock' }],
  models: [
    { name: 'mock-gpt', deployments: [{ provider: 'mock', model: 'mock-gpt-1', pricing: { input: 0.15, output: 0.6 } }] },
    { name: 'mock-embed', deployments: [{ provider: 'mock', model: 'mock-embedding-1' }] },
  ],
  routing: { strategy: 'model' },
}

// Direct mode (examples/direct.mjs) keeps its records in a temporary SQLite file
// unless DATABASE_URL is set; the plugin, startGateway and the embedded router
// use the server's default database (./data/switchyard.db) unless it is set.
export const databaseUrl = process.env.DATABASE_URL
