// The response envelope of every API answer, as schemas (OpenAPI + fast serialisation) and builders.
import { type Static, type TSchema, Type } from 'typebox';

export const ErrorBody = Type.Object({
  code: Type.String({ description: 'Stable snake_case error code' }),
  message: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export const ErrorEnvelope = Type.Object(
  { success: Type.Literal(false), data: Type.Null(), error: ErrorBody },
  { $id: 'ErrorEnvelope', description: 'Every error has this shape' },
);
export type ErrorEnvelope = Static<typeof ErrorEnvelope>;

export const Pagination = Type.Object(
  {
    next_cursor: Type.Union([Type.String(), Type.Null()]),
    has_more: Type.Boolean(),
  },
  { $id: 'Pagination' },
);

export function Envelope<T extends TSchema>(data: T) {
  return Type.Object({ success: Type.Literal(true), data, error: Type.Null() });
}

export function ListEnvelope<T extends TSchema>(item: T) {
  return Type.Object({
    success: Type.Literal(true),
    data: Type.Array(item),
    error: Type.Null(),
    pagination: Pagination,
  });
}

export function ok<T>(data: T): { success: true; data: T; error: null } {
  return { success: true, data, error: null };
}

export function page<T>(
  data: T[],
  nextCursor: string | null,
): { success: true; data: T[]; error: null; pagination: { next_cursor: string | null; has_more: boolean } } {
  return {
    success: true,
    data,
    error: null,
    pagination: { next_cursor: nextCursor, has_more: nextCursor !== null },
  };
}

/** Error responses a route can document; pass the statuses it returns. */
export function errors(...statuses: number[]): Record<number, typeof ErrorEnvelope> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorEnvelope]));
}

/** Query `limit`: default 50, max 100. */
export const LimitQuery = Type.Integer({ minimum: 1, maximum: 100, default: 50 });

/** A seq as clients send it: bounded to what the database's int8 holds and JavaScript counts exactly. */
export const SeqNumber = (minimum = 0) => Type.Integer({ minimum, maximum: Number.MAX_SAFE_INTEGER });

/** Opaque cursors: base64url JSON. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, check: (v: unknown) => v is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (check(value)) return value;
  } catch {
    // fall through to the error below
  }
  throw Object.assign(new Error('cursor is not valid'), { invalidCursor: true });
}
