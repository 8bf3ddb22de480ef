// bench/profile-summary.ts: who called a function, from a V8 CPU profile.
import { describe, expect, it } from 'vitest';
import { callers } from '../../bench/profile-summary.js';

describe('profile callers', () => {
  it("groups a function's self time by the distinct packages above it, nearest first, without node core", () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 6] },
        { id: 2, callFrame: frame('query', 'file:///app/node_modules/kysely/q.js'), children: [3] },
        { id: 3, callFrame: frame('submit', 'file:///app/node_modules/pg/c.js'), children: [4] },
        { id: 4, callFrame: frame('send', 'file:///app/node_modules/pg/c.js'), children: [5] },
        { id: 5, callFrame: frame('writev', ''), children: [] },
        { id: 6, callFrame: frame('sendFrame', 'file:///app/node_modules/ws/s.js'), children: [7] },
        { id: 7, callFrame: frame('_write', 'node:net'), children: [8] },
        { id: 8, callFrame: frame('writev', ''), children: [] },
      ],
      samples: [5, 5, 8, 3],
      timeDeltas: [2000, 3000, 1000, 500],
    };
    expect(callers(profile, ['writev'])).toEqual([
      { chain: 'writev <- pg <- kysely', ms: 5 },
      { chain: 'writev <- ws', ms: 1 },
    ]);
    expect(callers(profile, ['writev'], 1)).toEqual([
      { chain: 'writev <- pg', ms: 5 },
      { chain: 'writev <- ws', ms: 1 },
    ]);
    expect(callers(profile, ['nothing'])).toEqual([]);
  });
});
