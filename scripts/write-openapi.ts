// `tsx scripts/write-openapi.ts [file]`: the app on an in-memory database, its OpenAPI document written to a file
// (default node_modules/.cache/openapi.json) for Spectral (`npm run spec:lint`) and client generators; no server
// is started.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

async function main(): Promise<void> {
  const target = process.argv[2] ?? 'node_modules/.cache/openapi.json';
  const config = {
    ...loadConfig({ ENVIRONMENT: 'test', LOG_LEVEL: 'silent', JWT_SECRET: randomBytes(32).toString('hex') }),
    databaseInMemory: true,
  };
  const app = await buildApp(config);
  try {
    await app.ready();
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, `${JSON.stringify(app.swagger(), null, 2)}\n`);
    console.log(`OpenAPI document written to ${target}`);
  } finally {
    await app.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
