import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// *.pg.test.ts suites need PostgreSQL and Redis (several instances sharing them, Redis loss): they run when
// TEST_DATABASE_URL and TEST_REDIS_URL are set (CI always sets them), and the embedded pass says it left them out.
const withBackends = Boolean(process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL);

// The local HTTPS push service of the notification tests: workers start with its certificate trusted. Node reads
// NODE_EXTRA_CA_CERTS (one file) only at startup, so it is set here, before any worker is forked, to a bundle of
// whatever it named already plus the test certificate.
process.env.NODE_EXTRA_CA_CERTS = trustedBundle(
  fileURLToPath(new URL('test/fixtures/push/push-service.crt', import.meta.url)),
);

function trustedBundle(extra: string): string {
  const existing = process.env.NODE_EXTRA_CA_CERTS;
  if (!existing || existing === extra || !existsSync(existing)) return extra;
  const bundle = join(tmpdir(), `tma-test-ca-${process.pid}.pem`);
  writeFileSync(bundle, `${readFileSync(existing, 'utf8')}\n${readFileSync(extra, 'utf8')}`);
  process.on('exit', () => rmSync(bundle, { force: true }));
  return bundle;
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: withBackends ? [] : ['test/**/*.pg.test.ts'],
    globalSetup: ['test/global-setup.ts', 'test/web/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: { lines: 80 },
    },
  },
});
