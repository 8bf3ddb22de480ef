// The batcher behind the notification jobs: one hand-over per batch, by size, by delay, and at close.
import { describe, expect, it } from 'vitest';
import { MessageBatcher } from '../../../src/modules/notifications/message-batcher.js';

describe('MessageBatcher', () => {
  it('hands a full batch over at once, and the rest after the delay', async () => {
    const batches: string[][] = [];
    const batcher = new MessageBatcher(3, 30, async (ids) => {
      batches.push(ids);
    });
    for (const id of ['a', 'b', 'c', 'd']) batcher.add(id);
    expect(batches).toEqual([['a', 'b', 'c']]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(batches).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('hands what it holds over at flush (close), and nothing when empty', async () => {
    const batches: string[][] = [];
    const batcher = new MessageBatcher(100, 60_000, async (ids) => {
      batches.push(ids);
    });
    await batcher.flush();
    expect(batches).toEqual([]);
    batcher.add('x');
    batcher.add('y');
    await batcher.flush();
    expect(batches).toEqual([['x', 'y']]);
  });
});
