// The typing tracker on fake timers: throttle window, expiry pushed back by each start, stop and stopAll.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Fanout } from '../../src/realtime/fanout.js';
import { TypingTracker } from '../../src/realtime/typing.js';

const EXPIRE_MS = 5_000;
const THROTTLE_MS = 2_000;

interface Sent {
  to: string;
  payload: { conversation_id: string; user_id: string; typing: boolean };
  except: string;
}

let sent: Sent[];
let tracker: TypingTracker;

beforeEach(() => {
  // The tracker only uses setTimeout/clearTimeout and Date.now; nothing here does I/O.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  sent = [];
  const fanout = {
    emit: (to: string, _event: string, payload: Sent['payload'], except: string) => {
      sent.push({ to, payload, except });
    },
  };
  tracker = new TypingTracker(fanout as unknown as Fanout, EXPIRE_MS, THROTTLE_MS);
});
afterEach(() => {
  tracker.close();
  vi.useRealTimers();
});

const typing = (user: string, conversation: string, on: boolean) => ({
  conversation_id: conversation,
  user_id: user,
  typing: on,
});

describe('TypingTracker', () => {
  it('sends to the viewers of the conversation, never to the typist themselves', () => {
    expect(tracker.start('u1', 'c1')).toBe(true);
    expect(sent).toEqual([{ to: 'view:c1', payload: typing('u1', 'c1', true), except: 'user:u1' }]);
  });

  it('throttles repeated starts within the window and sends again after it', () => {
    tracker.start('u1', 'c1');
    vi.advanceTimersByTime(THROTTLE_MS - 1);
    expect(tracker.start('u1', 'c1')).toBe(false);
    vi.advanceTimersByTime(1);
    expect(tracker.start('u1', 'c1')).toBe(true);
    expect(sent.map((s) => s.payload.typing)).toEqual([true, true]);
  });

  it('stops by itself after the expiry, and each start pushes the expiry back', () => {
    tracker.start('u1', 'c1');
    vi.advanceTimersByTime(EXPIRE_MS - 1_000);
    tracker.start('u1', 'c1'); // throttled, but the user is still typing
    vi.advanceTimersByTime(EXPIRE_MS - 1);
    expect(sent.map((s) => s.payload.typing)).toEqual([true, true]);
    vi.advanceTimersByTime(1);
    expect(sent.at(-1)?.payload).toEqual(typing('u1', 'c1', false));
    // Expired: the next start is a new indicator, never throttled.
    expect(tracker.start('u1', 'c1')).toBe(true);
  });

  it('stop ends it at once and only when the user was typing', () => {
    expect(tracker.stop('u1', 'c1')).toBe(false);
    tracker.start('u1', 'c1');
    expect(tracker.stop('u1', 'c1')).toBe(true);
    expect(sent.at(-1)?.payload).toEqual(typing('u1', 'c1', false));
    vi.advanceTimersByTime(EXPIRE_MS * 2);
    expect(sent).toHaveLength(2);
  });

  it('stopAll ends every indicator of a user, or those of one conversation', () => {
    tracker.start('u1', 'c1');
    tracker.start('u1', 'c2');
    tracker.start('u2', 'c1');
    tracker.stopAll('u1', 'c2');
    expect(sent.at(-1)?.payload).toEqual(typing('u1', 'c2', false));
    tracker.stopAll('u1');
    expect(sent.at(-1)?.payload).toEqual(typing('u1', 'c1', false));
    expect(tracker.stop('u2', 'c1')).toBe(true);
    expect(sent.filter((s) => !s.payload.typing)).toHaveLength(3);
  });

  it('close forgets every indicator without sending anything', () => {
    tracker.start('u1', 'c1');
    tracker.close();
    vi.advanceTimersByTime(EXPIRE_MS * 2);
    expect(sent).toHaveLength(1);
    expect(tracker.stop('u1', 'c1')).toBe(false);
  });
});
