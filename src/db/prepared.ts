// Named prepared statements for hot SQL whose text never changes: parsed and planned once per session.
const TAG = '/* prepared:';
const NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * Put `sql.raw(prepared('name'))` first in a statement's text to run it as a prepared statement: by name over
 * the extended protocol on PostgreSQL, and as `PREPARE`/`EXECUTE` on PGlite (one session for the process).
 */
export function prepared(name: string): string {
  if (!NAME.test(name)) throw new Error(`invalid prepared statement name: ${name}`);
  return `${TAG}${name} */`;
}

/** The name a statement was tagged with by `prepared`, if any. */
export function preparedName(text: string): string | undefined {
  if (!text.startsWith(TAG)) return undefined;
  const name = text.slice(TAG.length, text.indexOf(' */'));
  return NAME.test(name) ? name : undefined;
}

/** A parameter as an SQL literal for `EXECUTE name(...)` (standard_conforming_strings is on). */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `'${text.replaceAll("'", "''")}'`;
}
