// The rules every client input obeys on every transport (REST, Socket.IO, /ws), before its schema: text the
// server stores or searches holds no NUL and no lone UTF-16 surrogate, and JSON is nested at most MAX_JSON_DEPTH.
import type { Environment } from '../config.js';
import { ValidationError } from '../errors.js';

/** Deeper than any payload of the API needs (metadata included), far below what recursion could choke on. */
export const MAX_JSON_DEPTH = 16;

// NUL (PostgreSQL text cannot hold it) or a surrogate half without its partner (not valid UTF-8 once encoded).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point of this pattern.
const UNSAFE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface InputIssue {
  /** JSON pointer of the offending value (or of the object holding an offending key). */
  path: string;
  /** Dotted name of the field, as validation errors name it. */
  field: string;
  message: string;
}

const pointer = (segments: readonly string[]) =>
  segments.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

function issue(segments: readonly string[], message: string): InputIssue {
  return { path: pointer(segments), field: segments.join('.'), message };
}

/** The first input rule `value` breaks, or undefined. Walks at most MAX_JSON_DEPTH levels. */
export function findInputIssue(value: unknown, segments: string[] = []): InputIssue | undefined {
  if (typeof value === 'string') {
    return UNSAFE_TEXT.test(value)
      ? issue(segments, 'must not contain NUL characters or unpaired surrogates')
      : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (segments.length >= MAX_JSON_DEPTH)
    return issue(segments, `is nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findInputIssue(value[i], [...segments, String(i)]);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    if (UNSAFE_TEXT.test(key)) return issue(segments, 'has a key with NUL characters or unpaired surrogates');
    const found = findInputIssue(child, [...segments, key]);
    if (found) return found;
  }
  return undefined;
}

/** URL fields people store (avatars, links): https only (http too in development), a host, no credentials. */
export function checkedUrl(value: string, field: string, environment: Environment): string {
  const allowed = environment === 'development' ? 'an http or https URL' : 'an https URL';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(`${field} must be ${allowed}`, { field });
  }
  const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && environment === 'development');
  if (!schemeOk || url.hostname === '' || url.username || url.password)
    throw new ValidationError(`${field} must be ${allowed} without credentials`, { field });
  return url.toString();
}
