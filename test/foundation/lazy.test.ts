// lazy(): one load shared by every caller; a failed load is retried by the next call, not cached.
import { describe, expect, it } from 'vitest';
import { lazy } from '../../src/platform/lazy.js';

describe('lazy', () => {
  it('starts the load once and gives every caller the same result', async () => {
    let loads = 0;
    const get = lazy(async () => {
      loads++;
      return { loaded: loads };
    });
    const [a, b] = await Promise.all([get(), get()]);
    expect(a).toBe(b);
    expect(await get()).toBe(a);
    expect(loads).toBe(1);
  });

  it('does not keep a failure: the next call loads again', async () => {
    let attempt = 0;
    const get = lazy(async () => {
      attempt++;
      if (attempt === 1) throw new Error('not yet');
      return 'ready';
    });
    await expect(get()).rejects.toThrow('not yet');
    expect(await get()).toBe('ready');
    expect(await get()).toBe('ready');
    expect(attempt).toBe(2);
  });

  it('loads nothing of the heavy libraries when the app is imported', async () => {
    await import('../../src/app.js');
    const loaded = Object.keys((await import('node:module')).createRequire(import.meta.url).cache);
    // The check sees what the app does load (fastify), so an empty list below means not loaded.
    expect(loaded.some((file) => file.includes('/node_modules/fastify/'))).toBe(true);
    for (const heavy of ['metascraper', '@aws-sdk', 'nodemailer', 'web-push', 'sharp', '@zxcvbn-ts']) {
      expect(loaded.filter((file) => file.includes(`/node_modules/${heavy}`))).toEqual([]);
    }
  });
});
