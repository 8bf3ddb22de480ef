// Emoji validation: exactly one user-perceived character (grapheme) that is a recommended (RGI) emoji.

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
// `v` flag for the RGI_Emoji property of strings (Node 20+); built at runtime so the TS target stays ES2022.
// biome-ignore lint/complexity/useRegexLiterals: a literal with the v flag needs an ES2024 target
const RGI_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');
/** Bytes of UTF-8: the longest RGI sequences (families, subdivision flags) stay well under this. */
export const MAX_EMOJI_BYTES = 64;

/**
 * The emoji in its fully-qualified form ("❤" becomes "❤️", so both count as one reaction), or undefined
 * when the value is not exactly one emoji.
 */
export function normaliseEmoji(value: string): string | undefined {
  if (value.length === 0 || Buffer.byteLength(value) > MAX_EMOJI_BYTES) return undefined;
  if ([...segmenter.segment(value)].length !== 1) return undefined;
  if (RGI_EMOJI.test(value)) return value;
  const qualified = `${value}\uFE0F`;
  return RGI_EMOJI.test(qualified) ? qualified : undefined;
}
