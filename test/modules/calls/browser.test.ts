// Real browsers: two headless Chromium pages log in as two people, signal only through TMA's /calls namespace,
// open an RTCPeerConnection with a data channel and exchange a message; the call is then in both histories with
// its duration.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../../helpers/app.js';
import { listen } from '../../helpers/sockets.js';
import { haveChromium, launchBrowser } from '../../web/e2e.js';

const PASSWORD = 'Quiet-Harbor-Lantern-42';
const WAIT = 30_000;
const clientBundle = readFileSync(
  resolve(import.meta.dirname, '../../../node_modules/socket.io-client/dist/socket.io.min.js'),
  'utf8',
);
if (!haveChromium) console.warn('[tests] Chromium is not installed: the browser call suite is left out');

interface Session {
  token: string;
  userId: string;
}

/** A page of this server with the Socket.IO client loaded, logged in as a new account. */
async function personPage(
  browser: Browser,
  base: string,
  username: string,
): Promise<{ page: Page; session: Session }> {
  // The script is injected by the test, so the server's CSP (script-src 'self') must not stop it.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${base}/health`);
  await page.addScriptTag({ content: clientBundle });
  const session = await page.evaluate(
    async ({ username, password }) => {
      const post = async (url: string, body: unknown) => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
        return ((await res.json()) as { data: unknown }).data;
      };
      await post('/api/v1/auth/register', { username, password });
      const login = await post('/api/v1/auth/login', { username, password });
      const data = login as { access_token: string; user: { id: string } };
      return { token: data.access_token, userId: data.user.id };
    },
    { username, password: PASSWORD },
  );
  return { page, session };
}

/**
 * The WebRTC side of a call, run in the page (plain JavaScript: the test's types have no DOM): every signal goes
 * through the /calls socket. The callee answers as soon as it rings; the caller offers once it is accepted.
 */
const CALL_CLIENT = `
window.wireCall = async (token) => {
  const socket = io('/calls', { auth: { token }, transports: ['websocket'] });
  await new Promise((resolve, reject) => {
    socket.on('connect', resolve);
    socket.on('connect_error', reject);
  });
  const received = [];
  const events = [];
  let pc;
  let peer = '';
  let callId = '';
  const send = async (signal) => {
    const ack = await socket.emitWithAck('call_signal', { call_id: callId, to_user_id: peer, signal });
    if (!ack.ok) events.push('signal refused ' + JSON.stringify(ack.error));
  };
  const open = () => {
    const conn = new RTCPeerConnection({ iceServers: [] });
    conn.onicecandidate = (e) => void send({ type: 'candidate', candidate: e.candidate ? e.candidate.toJSON() : null });
    conn.ondatachannel = (e) => {
      e.channel.onmessage = (m) => {
        received.push(String(m.data));
        e.channel.send('pong:' + m.data);
      };
    };
    pc = conn;
    return conn;
  };
  socket.on('call_signal', async (p) => {
    peer = p.from_user_id;
    const conn = pc || open();
    if (p.signal.type === 'offer') {
      await conn.setRemoteDescription({ type: 'offer', sdp: p.signal.sdp });
      const answer = await conn.createAnswer();
      await conn.setLocalDescription(answer);
      await send({ type: 'answer', sdp: answer.sdp });
    } else if (p.signal.type === 'answer') {
      await conn.setRemoteDescription({ type: 'answer', sdp: p.signal.sdp });
    } else if (p.signal.type === 'candidate' && p.signal.candidate) {
      await conn.addIceCandidate(p.signal.candidate);
    }
  });
  socket.on('call_ringing', async (p) => {
    events.push('ringing');
    callId = p.call.id;
    const ack = await socket.emitWithAck('call_accept', { call_id: callId });
    events.push(ack.ok ? 'accepted' : 'accept refused ' + JSON.stringify(ack.error));
  });
  socket.on('call_ended', (p) => events.push('ended:' + p.reason));
  socket.on('call_accepted', async (p) => {
    callId = p.call.id;
    peer = p.user_id;
    const conn = open();
    const channel = conn.createDataChannel('chat');
    channel.onopen = () => channel.send('hello over webrtc');
    channel.onmessage = (m) => received.push(String(m.data));
    const offer = await conn.createOffer();
    await conn.setLocalDescription(offer);
    await send({ type: 'offer', sdp: offer.sdp });
  });
  window.callState = { received, events };
  window.startCall = async (conversationId) => {
    const ack = await socket.emitWithAck('call_start', { conversation_id: conversationId, media: 'audio' });
    if (!ack.ok) throw new Error(JSON.stringify(ack.error));
    callId = ack.data.call.id;
    return callId;
  };
  window.endCall = async () => {
    const ack = await socket.emitWithAck('call_end', { call_id: callId });
    if (pc) pc.close();
    return ack.ok;
  };
};
`;

interface CallPage {
  wireCall(token: string): Promise<void>;
  callState: { received: string[]; events: string[] };
  startCall(conversationId: string): Promise<string>;
  endCall(): Promise<boolean>;
}
async function wire(page: Page, token: string): Promise<void> {
  await page.addScriptTag({ content: CALL_CLIENT });
  await page.evaluate((t) => (globalThis as unknown as CallPage).wireCall(t), token);
}

const state = (page: Page) => page.evaluate(() => (globalThis as unknown as CallPage).callState);

describe.runIf(haveChromium)('a call between two browsers', () => {
  let app: FastifyInstance;
  let browser: Browser;

  beforeAll(async () => {
    app = await buildTestApp();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('signals through /calls, exchanges a data channel message, and records the call with its duration', async () => {
    const base = await listen(app);
    const suffix = Math.random().toString(36).slice(2, 8);
    const alice = await personPage(browser, base, `alice_${suffix}`);
    const bob = await personPage(browser, base, `bob_${suffix}`);
    const dm = await alice.page.evaluate(
      async ({ token, peer }) => {
        const res = await fetch('/api/v1/conversations', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ type: 'dm', member_ids: [peer] }),
        });
        return ((await res.json()) as { data: { id: string } }).data.id;
      },
      { token: alice.session.token, peer: bob.session.userId },
    );
    await wire(alice.page, alice.session.token);
    await wire(bob.page, bob.session.token);

    const callId = await alice.page.evaluate((id) => (globalThis as unknown as CallPage).startCall(id), dm);
    await bob.page.waitForFunction(
      () => (globalThis as unknown as CallPage).callState.received.length > 0,
      undefined,
      { timeout: WAIT },
    );
    await alice.page.waitForFunction(
      () => (globalThis as unknown as CallPage).callState.received.length > 0,
      undefined,
      { timeout: WAIT },
    );
    expect((await state(bob.page)).received).toEqual(['hello over webrtc']);
    expect((await state(alice.page)).received).toEqual(['pong:hello over webrtc']);
    expect((await state(bob.page)).events).toEqual(['ringing', 'accepted']);

    expect(await alice.page.evaluate(() => (globalThis as unknown as CallPage).endCall())).toBe(true);
    await bob.page.waitForFunction(
      () => (globalThis as unknown as CallPage).callState.events.includes('ended:completed'),
      undefined,
      { timeout: WAIT },
    );
    for (const who of [alice, bob]) {
      const calls = await who.page.evaluate(async (token) => {
        const res = await fetch('/api/v1/calls', { headers: { authorization: `Bearer ${token}` } });
        return (
          (await res.json()) as { data: Array<{ id: string; status: string; duration_ms: number | null }> }
        ).data;
      }, who.session.token);
      expect(calls[0]).toMatchObject({ id: callId, status: 'ended', end_reason: 'completed' });
      expect(calls[0]?.duration_ms).toBeGreaterThan(0);
    }
  }, 120_000);
});
