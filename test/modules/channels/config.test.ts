// CHANNEL_PROVIDERS validation: every problem names the variable and the entry; PUBLIC_URL is required with it.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { checkBody, isEmail, smsSegments } from '../../../src/modules/channels/addresses.js';
import { twilioSignature } from '../../../src/modules/channels/signatures.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ENVIRONMENT: 'test', ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

const twilio = {
  name: 'tw',
  kind: 'twilio',
  channels: ['sms'],
  base_url: 'https://api.twilio.com',
  account_sid: 'AC1',
  auth_token: 't',
};

describe('CHANNEL_PROVIDERS', () => {
  it('accepts a valid list with PUBLIC_URL and applies defaults', () => {
    const config = loadConfig({
      ENVIRONMENT: 'test',
      CHANNEL_PROVIDERS: JSON.stringify([twilio]),
      PUBLIC_URL: 'https://chat.example.com/',
    });
    expect(config.channels.publicUrl).toBe('https://chat.example.com');
    expect(config.channels.providers[0]).toMatchObject({
      name: 'tw',
      timeoutMs: 5000,
      retries: 2,
      breakerThreshold: 5,
    });
  });

  it('names the variable and the entry in every problem', () => {
    expect(problems({ CHANNEL_PROVIDERS: '{not json', PUBLIC_URL: 'https://x.example' })).toEqual([
      'CHANNEL_PROVIDERS: must be a JSON list of providers (not valid JSON)',
    ]);
    expect(problems({ CHANNEL_PROVIDERS: '{}', PUBLIC_URL: 'https://x.example' })[0]).toMatch(
      /^CHANNEL_PROVIDERS: must be a JSON list/,
    );
    const found = problems({
      CHANNEL_PROVIDERS: JSON.stringify([
        { ...twilio, auth_token: undefined },
        { name: 'sg', kind: 'sendgrid', channels: ['sms'], base_url: 'x', api_key: 'k' },
        { name: 'tw', kind: 'pigeon', channels: ['sms'] },
        { ...twilio, name: 'tw2', timeout_ms: 5, base_url: 'ftp://x' },
        { ...twilio },
      ]),
      PUBLIC_URL: 'https://x.example',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'CHANNEL_PROVIDERS[0].auth_token: required for kind twilio',
        'CHANNEL_PROVIDERS[1].channels: a non-empty list of email for kind sendgrid',
        'CHANNEL_PROVIDERS[2].kind: must be one of twilio, sendgrid, smtp',
        'CHANNEL_PROVIDERS[3].timeout_ms must be a whole number from 100 to 120000',
        'CHANNEL_PROVIDERS[3].base_url: must be a http: or https:// URL',
        'CHANNEL_PROVIDERS[4].name: "tw" is used twice',
      ]),
    );
  });

  it('requires PUBLIC_URL with providers', () => {
    expect(problems({ CHANNEL_PROVIDERS: JSON.stringify([twilio]) })).toContain(
      'PUBLIC_URL: required with CHANNEL_PROVIDERS (providers call back to it)',
    );
  });
});

describe('addresses and bodies', () => {
  it('counts segments and validates addresses', () => {
    expect(smsSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', segments: 1 });
    expect(smsSegments('a'.repeat(307))).toEqual({ encoding: 'GSM-7', segments: 3 });
    expect(smsSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', segments: 1 });
    expect(smsSegments('й'.repeat(71))).toEqual({ encoding: 'UCS-2', segments: 2 });
    expect(() => checkBody('sms', 'x'.repeat(1601), false)).toThrow(/1600/);
    expect(checkBody('email', '', false)).toBe(1);
    expect(isEmail('first.last+tag@sub.example.co')).toBe(true);
    for (const bad of [
      'a@b',
      'a..b@example.com',
      '.a@example.com',
      'a b@example.com',
      `${'a'.repeat(65)}@example.com`,
    ]) {
      expect(isEmail(bad), bad).toBe(false);
    }
  });

  it('signs like Twilio (the documented example)', () => {
    // https://www.twilio.com/docs/usage/security#validating-requests
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    const params = {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+12349013030',
      Digits: '1234',
      From: '+12349013030',
      To: '+18005551212',
    };
    expect(twilioSignature('12345', url, params)).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
  });
});
