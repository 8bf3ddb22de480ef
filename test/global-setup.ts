// Once per test run: a migrated PGlite template (dumped to a file) and, with TEST_DATABASE_URL, a migrated
// PostgreSQL template database; every test file then starts from a copy instead of running migrations.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openPglite } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrator.js';
import { PGliteDialect } from '../src/db/pglite-dialect.js';
import type { DB } from '../src/db/schema.js';
import { adminUrl, databaseUrl } from './helpers/databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplatePath: string;
    pgTemplateDatabase: string;
    testRunId: string;
  }
}

export default async function setup(project: TestProject) {
  const runId = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  project.provide('testRunId', runId);

  const dir = join(tmpdir(), `tma-test-${runId}`);
  mkdirSync(dir, { recursive: true });
  const client = await openPglite(undefined);
  const pgliteDb = new Kysely<DB>({ dialect: new PGliteDialect(client) });
  await migrateToLatest(pgliteDb);
  // Apps open the `postgres` database and never create one: without the two template databases the copy each
  // app loads is 27 MB instead of 42, and opens in about 0.7 s instead of 0.9-1.5.
  await client.exec(
    `UPDATE pg_database SET datistemplate = false WHERE datname IN ('template0', 'template1')`,
  );
  for (const statement of ['DROP DATABASE template0', 'DROP DATABASE template1', 'CHECKPOINT']) {
    await client.exec(statement);
  }
  const dump = await client.dumpDataDir('none');
  const templatePath = join(dir, 'pglite-template.tar');
  writeFileSync(templatePath, Buffer.from(await dump.arrayBuffer()));
  await pgliteDb.destroy();
  project.provide('pgliteTemplatePath', templatePath);

  const base = process.env.TEST_DATABASE_URL;
  let template = '';
  if (base) {
    template = `tma_test_${runId}_template`;
    const admin = new pg.Client({ connectionString: adminUrl(base) });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${template}`);
    await admin.end();
    const db = new Kysely<DB>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ connectionString: databaseUrl(base, template), max: 1 }),
      }),
    });
    await migrateToLatest(db);
    await db.destroy();
    console.log(
      `[tests] PostgreSQL: template database ${template} migrated; each test file gets its own copy`,
    );
  } else {
    console.log(
      '[tests] embedded PGlite. Left out of this pass (they need TEST_DATABASE_URL and TEST_REDIS_URL): ' +
        'test/**/*.pg.test.ts: two instances, Redis loss, Redis presence, shared-Redis identity, advisory-lock ' +
        'sync, the job queue across instances, startup with DATABASE_URL',
    );
  }
  if (process.env.TEST_REDIS_URL) console.log('[tests] Redis: each test file uses its own key prefix');
  project.provide('pgTemplateDatabase', template);

  return async () => {
    rmSync(dir, { recursive: true, force: true });
    if (base) {
      const admin = new pg.Client({ connectionString: adminUrl(base) });
      await admin.connect();
      const { rows } = await admin.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datname LIKE $1',
        [`tma_test_${runId}_%`],
      );
      for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      await admin.end();
    }
  };
}
