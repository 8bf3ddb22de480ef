// pg-boss's `db` option over Kysely: the same queue SQL runs on the app's pool, on PGlite, or inside a transaction.
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { DatabaseKind } from '../db/database.js';
import type { DB } from '../db/schema.js';

/** What pg-boss calls to run its SQL. */
export interface JobSqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] } | undefined>;
}

type Executor = Kysely<DB> | Transaction<DB>;

// pg-boss installs and migrates its schema with one `BEGIN; ...; COMMIT;` script. PostgreSQL runs it as a
// simple query; PGlite's query() takes one statement only, so the body runs through a DO block instead.
const SCRIPT = /^\s*BEGIN;([\s\S]*)COMMIT;\s*$/;

async function run(executor: Executor, text: string, values: readonly unknown[]) {
  const result = await executor.executeQuery(CompiledQuery.raw(text, [...values]));
  return { rows: result.rows as Record<string, unknown>[] };
}

/** Shuts the queue's own SQL off once the queue has stopped (see databaseExecutor). */
export interface ExecutorGate {
  closed: boolean;
}

/**
 * Runs pg-boss's SQL on the app's database (outside any business transaction). Once the gate is closed,
 * every statement answers no result without touching the database (pg-boss reads that as no job fetched
 * and none affected): pg-boss completes and fails jobs without awaiting the promise, so a job that ends
 * after shutdown would otherwise reject on a closed database. Skipping that write leaves the job active,
 * and it is retried once it expires.
 */
export function databaseExecutor(db: Kysely<DB>, kind: DatabaseKind, gate?: ExecutorGate): JobSqlExecutor {
  return {
    async executeSql(text, values = []) {
      if (gate?.closed) return undefined;
      const script = values.length === 0 ? SCRIPT.exec(text) : null;
      if (script && kind === 'pglite') {
        const body = script[1] as string;
        return db
          .transaction()
          .execute((trx) =>
            run(trx, `DO $tma_script$ BEGIN EXECUTE $tma_sql$${body}$tma_sql$; END $tma_script$`, []),
          );
      }
      return run(db, text, values);
    },
  };
}

/** Runs pg-boss's SQL inside a business transaction: a rollback drops the job, a commit keeps it. */
export function transactionExecutor(trx: Transaction<DB>): JobSqlExecutor {
  return { executeSql: (text, values = []) => run(trx, text, values) };
}
