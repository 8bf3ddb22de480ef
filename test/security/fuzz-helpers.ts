// fast-check arbitraries drawn from JSON schemas (the OpenAPI spec's and the socket protocol's): mostly values the
// schema allows, mixed with the hostile ones a client can send (NUL, lone surrogates, huge numbers, wrong types).
import fc from 'fast-check';

export type JsonSchema = Record<string, unknown>;

/** How many cases per schema: at least 200 in CI, more with FUZZ_RUNS. */
export const FUZZ_RUNS = Math.max(200, Number(process.env.FUZZ_RUNS ?? 200));

const HOSTILE_STRINGS = [
  '',
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDFFFy',
  '%00',
  '../../../../etc/passwd',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  'javascript:alert(1)',
  '😀'.repeat(50),
  ' '.repeat(300),
  'x'.repeat(70_000),
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '9223372036854775808',
  '-1',
  'NaN',
  'null',
  '{}',
];
const HOSTILE_NUMBERS = [-1, 0, 1, 2 ** 31, 2 ** 53, 2 ** 63, -(2 ** 63), 1e308, 0.5, -0.000001];

export const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);
const hostileValue = fc.oneof(
  hostileString,
  fc.constantFrom<unknown>(...HOSTILE_NUMBERS, true, false, null, [], {}),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Resolves `#/components/schemas/X` (and `#/definitions/X`) references against `root`. */
export function resolver(root: JsonSchema): (schema: JsonSchema) => JsonSchema {
  return (schema) => {
    let current = schema;
    for (let hops = 0; typeof current.$ref === 'string' && hops < 10; hops++) {
      const path = (current.$ref as string).replace(/^#\//, '').split('/');
      let target: unknown = root;
      for (const key of path) target = (target as Record<string, unknown> | undefined)?.[key];
      if (!target) return {};
      current = target as JsonSchema;
    }
    return current;
  };
}

function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : 60;
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  let valid: fc.Arbitrary<string>;
  if (Array.isArray(schema.enum)) valid = fc.constantFrom(...(schema.enum as string[]));
  else if (schema.format === 'uuid') valid = fc.uuid();
  else if (schema.format === 'date-time')
    valid = fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  else if (schema.format === 'email') valid = fc.emailAddress();
  else if (schema.format === 'uri') valid = fc.webUrl();
  else valid = fc.string({ minLength: Math.min(min, 60), maxLength: Math.min(max, 60) });
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: hostileString });
}

/** A value for `schema`: mostly shaped like it, sometimes hostile. */
export function arbitraryFor(
  schema: JsonSchema,
  resolve: (s: JsonSchema) => JsonSchema,
  depth = 0,
): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  if (depth > 4) return fc.constant(null);
  const shaped = shapedFor(s, resolve, depth);
  return fc.oneof({ weight: 5, arbitrary: shaped }, { weight: 1, arbitrary: hostileValue });
}

function shapedFor(
  s: JsonSchema,
  resolve: (s: JsonSchema) => JsonSchema,
  depth: number,
): fc.Arbitrary<unknown> {
  const variants = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (variants?.length) return fc.oneof(...variants.map((v) => arbitraryFor(v, resolve, depth + 1)));
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  const type = Array.isArray(s.type) ? (s.type as string[]).find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'string':
      return stringFor(s);
    case 'integer':
    case 'number': {
      const min = typeof s.minimum === 'number' ? s.minimum : -1000;
      const max = typeof s.maximum === 'number' ? Math.min(s.maximum, Number.MAX_SAFE_INTEGER) : 1_000_000;
      return fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }) },
        { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
      );
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = (s.items as JsonSchema | undefined) ?? {};
      const maxItems = typeof s.maxItems === 'number' ? Math.min(s.maxItems + 1, 6) : 4;
      return fc.array(arbitraryFor(items, resolve, depth + 1), { maxLength: maxItems });
    }
    case 'object': {
      const properties = (s.properties ?? {}) as Record<string, JsonSchema>;
      const keys = Object.keys(properties);
      if (keys.length === 0) return fc.dictionary(hostileString, hostileValue, { maxKeys: 4 });
      const record = fc.record(
        Object.fromEntries(
          keys.map((k) => [k, arbitraryFor(properties[k] as JsonSchema, resolve, depth + 1)]),
        ),
        { requiredKeys: [] },
      );
      return fc.oneof(
        { weight: 4, arbitrary: record },
        {
          weight: 1,
          arbitrary: fc.tuple(record, hostileString, hostileValue).map(([r, k, v]) => ({ ...r, [k]: v })),
        },
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}
