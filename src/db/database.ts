// Opens the database: PostgreSQL through a pg pool, or embedded PGlite; same SQL, same Kysely types.
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import {
  Kysely,
  type LogEvent,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  sql,
} from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { PGliteDialect } from './pglite-dialect.js';
import { preparedName } from './prepared.js';
import type { DB } from './schema.js';

export { prepared } from './prepared.js';

export type DatabaseKind = 'postgres' | 'pglite';

export interface Database {
  readonly db: Kysely<DB>;
  readonly kind: DatabaseKind;
  /** Queries run since start; tests use it to assert a constant number of queries per request. */
  readonly stats: { queries: number };
  /** Runs `work` and counts only the queries it causes (background jobs and timers are not counted). */
  countQueries(work: () => Promise<unknown>): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PGlite only: start from this data directory dump (a migrated template) instead of initdb. */
  pgliteTemplate?: Blob;
}

const INT8_OID = 20;

/** The pool as Kysely sees it, with `prepared(...)` statements sent by name. */
function preparingPool(pool: pg.Pool): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => ({
    query: ((text: unknown, values?: unknown[]) => {
      const name = typeof text === 'string' ? preparedName(text) : undefined;
      if (name) return client.query({ name, text: text as string, values });
      return client.query(text as string, values);
    }) as unknown as PostgresPoolClient['query'],
    release: () => client.release(),
  });
  return {
    async connect() {
      const client = await pool.connect();
      let wrapped = clients.get(client);
      if (!wrapped) {
        wrapped = wrap(client);
        clients.set(client, wrapped);
      }
      return wrapped;
    },
    end: () => pool.end(),
  };
}
const parseInt8 = (value: string): number => Number(value);

export function pgliteDataPath(config: Config): string {
  return join(config.dataDir, 'pgdata');
}

export async function openPglite(dataDir: string | undefined, template?: Blob): Promise<PGlite> {
  return PGlite.create({
    dataDir,
    loadDataDir: template,
    extensions: { pg_trgm },
    parsers: { [INT8_OID]: parseInt8 },
    relaxedDurability: dataDir === undefined,
  });
}

export async function openDatabase(
  config: Config,
  logger: Logger,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  const stats = { queries: 0 };
  const scope = new AsyncLocalStorage<{ queries: number }>();
  const countQueries = async (work: () => Promise<unknown>) => {
    const counter = { queries: 0 };
    await scope.run(counter, work);
    return counter.queries;
  };
  const log = (event: LogEvent) => {
    stats.queries++;
    const counter = scope.getStore();
    if (counter) counter.queries++;
    if (event.level === 'error') {
      logger.debug({ err: event.error, sql: event.query.sql }, 'query failed');
    } else if (event.queryDurationMillis >= config.slowQueryMs) {
      logger.warn({ ms: Math.round(event.queryDurationMillis), sql: event.query.sql }, 'slow query');
    }
  };

  if (config.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: config.databasePoolSize,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID
            ? parseInt8
            : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    pool.on('error', (err) => logger.error({ err }, 'idle database client error'));
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }), log });
    return {
      db,
      kind: 'postgres',
      stats,
      countQueries,
      ping: async () => {
        await sql`SELECT 1`.execute(db);
      },
      close: () => db.destroy(),
    };
  }

  let dataDir: string | undefined;
  if (!config.databaseInMemory) {
    dataDir = pgliteDataPath(config);
    mkdirSync(dataDir, { recursive: true });
  }
  const client = await openPglite(dataDir, options.pgliteTemplate);
  const db = new Kysely<DB>({ dialect: new PGliteDialect(client), log });
  return {
    db,
    kind: 'pglite',
    stats,
    countQueries,
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}
