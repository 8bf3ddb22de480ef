// Password strength (zxcvbn-ts) at registration: guessable passwords get 400 weak_password with a hint.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD_MIN_SCORE, passwordWeakness } from '../../src/identity/passwords.js';
import { buildTestApp } from '../helpers/app.js';

let app: FastifyInstance;
let n = 0;

beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const register = (password: string, username = `pw${++n}_${Math.random().toString(36).slice(2, 7)}`) =>
  app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { username, password } });

describe('POST /auth/register password strength', () => {
  it.each([
    ['a common password', 'password123'],
    ['a common password with a capital and a symbol', 'Summer2024!'],
    ['l33t speak of a common password', 'p@ssw0rd123'],
    ['a keyboard walk', 'qwertyuiop'],
    ['a sequence', 'abcdefgh12'],
    ['a repeat', 'abababab'],
  ])('refuses %s with 400 weak_password and a hint', async (_what, password) => {
    const res = await register(password);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'weak_password', details: { field: 'password' } });
    expect(res.json().error.message).toMatch(/^Password is too easy to guess: [a-z]/);
  });

  it('refuses a password made of the username', async () => {
    const username = `jonathan${++n}`;
    const res = await register(`${username}!2`, username);
    expect(res.json().error.code).toBe('weak_password');
    expect(res.json().error.message).toContain('personal');
  });

  it('accepts passphrases and random passwords', async () => {
    for (const password of ['correct horse battery', 'a fine password', 'Tr0ub4dor&3x', 'x7#Lq!9vRm2$']) {
      expect((await register(password)).statusCode).toBe(201);
    }
  });
});

describe('passwordWeakness', () => {
  it('scores only the first 32 characters (bounded CPU for 128-character inputs)', async () => {
    const strongStart = 'Vq8#mZ2!pL5@wX9$kR3%tN7^bH4&jC6*';
    expect(strongStart).toHaveLength(32);
    expect(await passwordWeakness(`${strongStart}${'a'.repeat(96)}`, 'someone')).toBeUndefined();
    expect(await passwordWeakness(`${'a'.repeat(32)}${strongStart}`, 'someone')).toMatch(
      /^is too easy to guess/,
    );
    expect(PASSWORD_MIN_SCORE).toBe(3);
  });
});
