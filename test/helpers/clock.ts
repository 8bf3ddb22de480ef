// Ordering by wall-clock timestamps (millisecond resolution) without sleeping a fixed time.
import { vi } from 'vitest';

/** Resolves once Date.now() is past `ms`, so the next timestamp taken is strictly later than it. */
export async function clockPast(ms: number): Promise<void> {
  await vi.waitFor(
    () => {
      if (Date.now() <= ms) throw new Error('the clock has not moved past the timestamp yet');
    },
    { interval: 1, timeout: 1_000 },
  );
}
