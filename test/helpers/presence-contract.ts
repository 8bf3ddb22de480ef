// The behaviour every presence store shares, as a suite each store's tests run against their own instances.
import { describe, expect, it } from 'vitest';
import type { PresenceStore } from '../../src/platform/presence.js';

/** Declares the presence-store contract suite `name` over stores from `make` (given the entry TTL in ms). */
export function presenceContract(name: string, make: (ttlMs: number) => PresenceStore) {
  describe(name, () => {
    it('is online from the first connection to the last', async () => {
      const store = make(60_000);
      expect(await store.connect('u1', 'a')).toBe(true);
      expect(await store.connect('u1', 'b')).toBe(false);
      expect(await store.online(['u1', 'u2'])).toEqual(new Set(['u1']));
      expect(await store.disconnect('u1', 'a')).toBe(false);
      expect(await store.disconnect('u1', 'b')).toBe(true);
      expect(await store.online(['u1'])).toEqual(new Set());
    });

    it('ignores the disconnection of an unknown connection', async () => {
      const store = make(60_000);
      expect(await store.disconnect('nobody', 'x')).toBe(false);
      await store.connect('u3', 'a');
      expect(await store.disconnect('u3', 'other')).toBe(false);
      expect(await store.online(['u3'])).toEqual(new Set(['u3']));
    });

    it('answers an empty query', async () => {
      expect(await make(60_000).online([])).toEqual(new Set());
    });
  });
}
