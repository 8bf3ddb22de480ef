// Addresses and bodies per channel: E.164 numbers, RFC 5322 addr-spec e-mail addresses, SMS size and segments.
import type { ChannelKind, InboxChannel } from '../../db/schema.js';
import { ValidationError } from '../../errors.js';

export const SMS_MAX_CHARS = 1600;
export const EMAIL_MAX_CHARS = 10_000;
export const SUBJECT_MAX_CHARS = 998;

const E164 = /^\+[1-9]\d{6,14}$/;
// RFC 5322 addr-spec, dot-atom local part (the quoted-string form is refused: no provider takes it reliably).
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const EMAIL = new RegExp(
  `^${ATEXT}+(?:\\.${ATEXT}+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}$`,
);

// The GSM 03.38 basic set and its extension table (extension characters take two septets).
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENDED = new Set('^{}\\[~]|€\f');

/** The inbox kind a channel belongs to: SMS and MMS share the number's inbox. */
export function inboxChannelOf(channel: ChannelKind): InboxChannel {
  return channel === 'email' ? 'email' : 'sms';
}

export function isE164(value: string): boolean {
  return E164.test(value);
}

export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value) && (value.split('@')[0]?.length ?? 0) <= 64;
}

/** The canonical address (e-mail lower-cased), or a 400 naming `field`. */
export function normaliseAddress(channel: InboxChannel, value: string, field: string): string {
  const trimmed = value.trim();
  if (channel === 'sms') {
    if (!isE164(trimmed)) {
      throw new ValidationError(`${field} must be a phone number in E.164 form, e.g. +15551234567`, {
        field,
      });
    }
    return trimmed;
  }
  if (!isEmail(trimmed)) throw new ValidationError(`${field} must be an e-mail address`, { field });
  return trimmed.toLowerCase();
}

/** SMS segments: GSM-7 160 chars single / 153 concatenated, otherwise UCS-2 70 / 67 (code units). */
export function smsSegments(body: string): { encoding: 'GSM-7' | 'UCS-2'; segments: number } {
  let septets = 0;
  let gsm = true;
  for (const ch of body) {
    if (GSM_BASIC.has(ch)) septets += 1;
    else if (GSM_EXTENDED.has(ch)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) return { encoding: 'GSM-7', segments: septets <= 160 ? 1 : Math.ceil(septets / 153) };
  const units = body.length;
  return { encoding: 'UCS-2', segments: units <= 70 ? 1 : Math.ceil(units / 67) };
}

/** Checks a body against its channel's limits; answers the segment count (1 for e-mail). */
export function checkBody(channel: ChannelKind, body: string, hasMedia: boolean): number {
  if (channel === 'email') {
    if (body.length > EMAIL_MAX_CHARS) {
      throw new ValidationError(`an e-mail body may be at most ${EMAIL_MAX_CHARS} characters`, {
        field: 'body',
      });
    }
    return 1;
  }
  if ([...body].length > SMS_MAX_CHARS) {
    throw new ValidationError(`an ${channel.toUpperCase()} body may be at most ${SMS_MAX_CHARS} characters`, {
      field: 'body',
    });
  }
  if (body.trim() === '' && !hasMedia) throw new ValidationError('body must not be empty', { field: 'body' });
  return body === '' ? 1 : smsSegments(body).segments;
}
