// Request validation: bodies are validated strictly (no type coercion); params and query strings are coerced
// from their string form ("50" -> 50), which is what URLs carry.
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { findInputIssue } from './input-rules.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

function createAjv(coerceTypes: boolean | 'array'): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

type Validate = ReturnType<Ajv['compile']>;
type Checked = ((data: unknown, context?: unknown) => boolean) & {
  errors?: Validate['errors'];
  schemaEnv?: Validate['schemaEnv'];
};

/** The input rules (src/http/input-rules.ts) first, then the schema; both report like AJV does. */
function withInputRules(validate: Validate): Checked {
  const checked: Checked = (data, context) => {
    const found = findInputIssue(data);
    if (found) {
      checked.errors = [
        {
          instancePath: found.path,
          schemaPath: '#/input-rules',
          keyword: 'input',
          params: {},
          message: found.message,
        },
      ];
      return false;
    }
    const ok = (validate as (d: unknown, c?: unknown) => boolean)(data, context);
    checked.errors = validate.errors;
    return ok;
  };
  // Fastify passes the parent (so AJV may coerce a root value) only to validators that carry schemaEnv.
  checked.schemaEnv = validate.schemaEnv;
  return checked;
}

// Bodies and socket payloads share one strict instance, so a rule reads the same on every transport.
const strict = createAjv(false);
const coercing = createAjv('array');

export function registerValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) =>
    withInputRules((httpPart === 'body' ? strict : coercing).compile(schema as object)),
  );
}

export interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns AJV issues into `{field, issues}` naming the failing field as a dotted path. */
export function validationDetails(
  context: string | undefined,
  issues: ValidationIssue[],
): Record<string, unknown> {
  const list = issues.map((issue) => {
    let path = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
    const missing = issue.params?.missingProperty;
    if (typeof missing === 'string') path = path ? `${path}.${missing}` : missing;
    const extra = issue.params?.additionalProperty;
    if (typeof extra === 'string') path = path ? `${path}.${extra}` : extra;
    return { field: path || context || 'body', message: issue.message ?? 'is invalid' };
  });
  return { in: context ?? 'body', field: list[0]?.field, issues: list };
}

export type PayloadCheck<T> =
  | { ok: true; value: T }
  | { ok: false; message: string; details: Record<string, unknown> };

/** A validator for socket and /ws payloads: the input rules and the same strict AJV as REST bodies. */
export function compilePayloadValidator<T>(schema: object): (payload: unknown) => PayloadCheck<T> {
  const validate = withInputRules(strict.compile(schema));
  return (payload) => {
    if (validate(payload)) return { ok: true, value: payload as T };
    const details = validationDetails('payload', (validate.errors ?? []) as ValidationIssue[]);
    const first = (details.issues as Array<{ message: string }>)[0]?.message ?? 'is invalid';
    return { ok: false, message: `Invalid payload: ${details.field} ${first}`, details };
  };
}
