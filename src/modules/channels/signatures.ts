// Provider signatures: Twilio's X-Twilio-Signature (HMAC-SHA1 over URL + sorted params) and SendGrid's Event
// Webhook (ECDSA P-256 over timestamp + raw body). Shared by the webhooks and the provider simulator.
import { createHmac, createPublicKey, type KeyObject, timingSafeEqual, verify } from 'node:crypto';

export type FormParams = Record<string, string | string[]>;

/** base64 HMAC-SHA1(authToken, url + every param name and value, names sorted; repeated names in order). */
export function twilioSignature(authToken: string, url: string, params: FormParams): string {
  let data = url;
  for (const key of Object.keys(params).sort()) {
    const value = params[key];
    for (const v of Array.isArray(value) ? value : [value]) data += key + v;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** Constant-time comparison of two signature strings. */
export function safeEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function verifyTwilioSignature(
  authToken: string,
  url: string,
  params: FormParams,
  signature: string | undefined,
): boolean {
  return typeof signature === 'string' && safeEqual(signature, twilioSignature(authToken, url, params));
}

/** SendGrid gives the verification key as base64 DER (SubjectPublicKeyInfo); PEM is accepted too. */
export function sendgridPublicKey(key: string): KeyObject {
  if (key.includes('BEGIN PUBLIC KEY')) return createPublicKey(key);
  return createPublicKey({ key: Buffer.from(key, 'base64'), format: 'der', type: 'spki' });
}

/** ECDSA (P-256, SHA-256, DER signature in base64) over timestamp + raw body. */
export function verifySendgridSignature(
  publicKey: KeyObject,
  timestamp: string,
  rawBody: Buffer,
  signature: string,
): boolean {
  try {
    const data = Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]);
    return verify('sha256', data, publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
