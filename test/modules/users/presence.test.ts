// canSeePresence: the pure presence-visibility rule used by realtime and GET /users/{id}.
import { describe, expect, it } from 'vitest';
import { canSeePresence } from '../../../src/modules/users/users.service.js';

const subject = (privacy: Record<string, unknown>) => ({ id: 'subject', settings: { privacy } });
const stranger = { sharesConversation: false, areFriends: false };
const member = { sharesConversation: true, areFriends: false };
const friend = { sharesConversation: false, areFriends: true };

describe('canSeePresence', () => {
  it('shows online to contacts only, with default settings', () => {
    expect(canSeePresence('v', subject({}), stranger)).toEqual({ online: false, lastSeen: true });
    expect(canSeePresence('v', subject({}), member)).toEqual({ online: true, lastSeen: true });
    expect(canSeePresence('v', subject({}), friend)).toEqual({ online: true, lastSeen: true });
  });

  it('hides online from everyone when privacy.online is false', () => {
    for (const relation of [stranger, member, friend]) {
      expect(canSeePresence('v', subject({ online: false }), relation).online).toBe(false);
    }
  });

  it('honours last_seen everyone / contacts / nobody', () => {
    expect(canSeePresence('v', subject({ last_seen: 'everyone' }), stranger).lastSeen).toBe(true);
    expect(canSeePresence('v', subject({ last_seen: 'contacts' }), stranger).lastSeen).toBe(false);
    expect(canSeePresence('v', subject({ last_seen: 'contacts' }), member).lastSeen).toBe(true);
    expect(canSeePresence('v', subject({ last_seen: 'contacts' }), friend).lastSeen).toBe(true);
    expect(canSeePresence('v', subject({ last_seen: 'nobody' }), friend).lastSeen).toBe(false);
  });

  it('hides everything across a block, and shows everything to the user themself', () => {
    expect(canSeePresence('v', subject({}), { ...friend, blocked: true })).toEqual({
      online: false,
      lastSeen: false,
    });
    expect(canSeePresence('subject', subject({ online: false, last_seen: 'nobody' }), stranger)).toEqual({
      online: true,
      lastSeen: true,
    });
  });
});
