// Realtime settings: defaults give a 30 s heartbeat and 10 sends/s; bad values are reported, not ignored.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('realtime configuration', () => {
  it('defaults to a 30 s heartbeat, 1 MB frames, 10 messages/s and no long-polling', () => {
    const { realtime } = loadConfig({});
    expect(realtime.pingIntervalMs + realtime.pingTimeoutMs).toBe(30_000);
    expect(realtime).toMatchObject({
      maxPayloadBytes: 1024 * 1024,
      messagesPerSecond: 10,
      typingExpireMs: 5000,
      allowPolling: false,
    });
  });

  it('reads every setting from the environment', () => {
    const { realtime } = loadConfig({
      SOCKET_PING_INTERVAL_MS: '20000',
      SOCKET_PING_TIMEOUT_MS: '10000',
      SOCKET_MAX_PAYLOAD_BYTES: '65536',
      SOCKET_MESSAGES_PER_SECOND: '20',
      TYPING_EXPIRE_MS: '3000',
      TYPING_THROTTLE_MS: '1000',
      PRESENCE_TTL_MS: '60000',
      SOCKET_ALLOW_POLLING: 'true',
    });
    expect(realtime).toEqual({
      pingIntervalMs: 20_000,
      pingTimeoutMs: 10_000,
      maxPayloadBytes: 65_536,
      messagesPerSecond: 20,
      typingExpireMs: 3000,
      typingThrottleMs: 1000,
      presenceTtlMs: 60_000,
      allowPolling: true,
    });
  });

  it('reports every invalid setting', () => {
    let error: unknown;
    try {
      loadConfig({
        SOCKET_MAX_PAYLOAD_BYTES: '10',
        SOCKET_MESSAGES_PER_SECOND: 'lots',
        SOCKET_ALLOW_POLLING: 'maybe',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('SOCKET_MAX_PAYLOAD_BYTES');
    expect(problems).toContain('SOCKET_MESSAGES_PER_SECOND');
    expect(problems).toContain('SOCKET_ALLOW_POLLING');
  });
});
