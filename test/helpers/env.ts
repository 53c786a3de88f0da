// The environment every test gateway gets (see testEnv in app.ts).

// At least 32 characters, as lib/config/env.ts requires.
export const MASTER_KEY = 'sk-test-master-key-0123456789abcdef'

export function testEnv(databaseUrl: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    DATABASE_URL: databaseUrl,
    MASTER_KEY,
    JWT_SECRET: 'test-jwt-secret-test-jwt-secret-0123456789',
    LOG_LEVEL: 'silent',
    ...extra,
  }
}
