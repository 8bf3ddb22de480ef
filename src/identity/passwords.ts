// Local account credentials: argon2id hashing and the username/password rules (strength: zxcvbn-ts).
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { lazy } from '../platform/lazy.js';

/** Algorithm.Argon2id; the const enum is not importable under isolatedModules. */
const ARGON2ID = 2;
// OWASP's second recommended argon2id profile: 19 MiB, 2 passes, 1 lane.
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const USERNAME_PATTERN = '^[A-Za-z0-9_.-]{3,32}$';
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

/** zxcvbn scores 0-4; 3 is "safely unguessable: moderate protection from an offline slow-hash attack". */
export const PASSWORD_MIN_SCORE = 3;
/**
 * Only this much of a password is scored: tens of ms, where some 128-character inputs take over a second.
 * (zxcvbn-ts's own maxLength option is applied by zxcvbnAsync only.)
 */
const SCORED_LENGTH = 32;

/**
 * zxcvbn and its dictionaries (about 1.6 MB), loaded and ranked with the first registration. Scoring is
 * synchronous CPU, so its input and l33t search are capped.
 */
const loadZxcvbn = lazy(async () => {
  const [core, common, en] = await Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
    import('@zxcvbn-ts/language-en'),
  ]);
  core.zxcvbnOptions.setOptions({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
    l33tMaxSubstitutions: 4,
  });
  return core.zxcvbn;
});

const sentence = (text: string) => text.charAt(0).toLowerCase() + text.slice(1).replace(/\.$/, '');

/** Why a password of valid length is still refused, or undefined when it is acceptable. */
export async function passwordWeakness(password: string, username: string): Promise<string | undefined> {
  const zxcvbn = await loadZxcvbn();
  const { score, feedback } = zxcvbn(password.slice(0, SCORED_LENGTH), [username]);
  if (score >= PASSWORD_MIN_SCORE) return undefined;
  const hint = feedback.warning ?? feedback.suggestions[0];
  return hint ? `is too easy to guess: ${sentence(hint)}` : 'is too easy to guess';
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/** Spends the same time as a real check, so an unknown user cannot be told from a wrong password. */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(await dummyHash, password);
}
