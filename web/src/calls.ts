// Calls (docs/calls.md): the /calls namespace for ringing and signalling, one RTCPeerConnection per other
// participant (a mesh), the microphone (and camera for video calls) from getUserMedia. The participant already in
// the call offers to each one who joins; candidates that arrive before the offer wait for it.
import type { components } from '@tma/sdk';
import { io, type Socket } from 'socket.io-client';

export type CallView = components['schemas']['Call'];
type Signal = {
  type: 'offer' | 'answer' | 'candidate' | 'renegotiate';
  sdp?: string;
  candidate?: RTCIceCandidateInit | null;
};
type Ack<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string } };

export interface CallState {
  call: CallView;
  /** ringing: rung by someone (incoming); calling: I rang, nobody answered yet; active; ended. */
  phase: 'incoming' | 'calling' | 'active' | 'ended';
  from?: string;
  /** Media from each other participant. */
  remote: Map<string, MediaStream>;
  /** Peer connection state per other participant. */
  links: Map<string, RTCPeerConnectionState>;
  local: MediaStream | null;
  muted: boolean;
  endReason?: string;
  error?: string;
}

const END_TEXT: Record<string, string> = {
  completed: 'Call ended',
  missed: 'No answer',
  declined: 'Declined',
  cancelled: 'Cancelled',
  failed: 'Call failed',
};

export function endText(reason: string | undefined): string {
  return END_TEXT[reason ?? ''] ?? 'Call ended';
}

export class Calls {
  state: CallState | null = null;
  /** Calls still ringing or going on, by conversation (heard of on /calls or looked up): a group's "Join". */
  ongoing = new Map<string, CallView>();
  private socket: Socket | null = null;
  private peers = new Map<string, RTCPeerConnection>();
  private waiting = new Map<string, RTCIceCandidateInit[]>();
  private iceServers: RTCIceServer[] = [];
  private clearTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly me: () => string | undefined,
    private readonly getToken: () => string | undefined,
    private readonly changed: () => void,
  ) {}

  connect(): void {
    if (this.socket) return;
    const socket = io('/calls', {
      transports: ['websocket'],
      auth: (cb: (data: object) => void) => cb({ token: this.getToken() ?? '' }),
    });
    this.socket = socket;
    // The connection is shared with /messaging, whose manager does not connect by itself: ask.
    socket.connect();
    socket.on('connect', () => {
      // After a reconnect, call_join moves this call's signals to the new socket.
      if (this.state && this.state.phase !== 'ended' && this.state.phase !== 'incoming')
        void this.request('call_join', { call_id: this.state.call.id });
    });
    socket.on('call_ringing', ({ call, from_user_id }: { call: CallView; from_user_id: string }) => {
      this.noteCall(call);
      if (this.state && this.state.phase !== 'ended') return; // busy with another: the server times it out
      this.set({ call, phase: 'incoming', from: from_user_id, ...this.fresh() });
    });
    socket.on('call_answered_elsewhere', ({ call }: { call: CallView }) => {
      if (this.state?.call.id === call.id && this.state.phase === 'incoming')
        this.finish(call, 'answered elsewhere');
    });
    socket.on('call_accepted', ({ call, user_id }: { call: CallView; user_id: string }) => {
      this.noteCall(call);
      if (this.state?.call.id !== call.id) return;
      this.state.call = call;
      // Someone else answered while this device still rings (a group call): keep ringing.
      if (this.state.phase === 'incoming') return this.changed();
      this.state.phase = 'active';
      void this.offer(user_id);
      this.changed();
    });
    socket.on('call_participant_joined', ({ call, user_id }: { call: CallView; user_id: string }) => {
      this.noteCall(call);
      if (this.state?.call.id !== call.id) return;
      this.state.call = call;
      if (this.state.phase === 'active' && !this.peers.has(user_id)) void this.offer(user_id);
      this.changed();
    });
    socket.on('call_participant_left', ({ call, user_id }: { call: CallView; user_id: string }) => {
      this.noteCall(call);
      if (this.state?.call.id !== call.id) return;
      this.state.call = call;
      this.drop(user_id);
      this.changed();
    });
    socket.on('call_declined', ({ call }: { call: CallView }) => {
      this.noteCall(call);
      if (this.state?.call.id === call.id) {
        this.state.call = call;
        this.changed();
      }
    });
    socket.on('call_ended', ({ call, reason }: { call: CallView; reason: string }) => {
      this.noteCall(call);
      if (this.state?.call.id === call.id) this.finish(call, reason);
    });
    socket.on('call_signal', (p: { call_id: string; from_user_id: string; signal: Signal }) => {
      if (this.state?.call.id === p.call_id) void this.onSignal(p.from_user_id, p.signal);
    });
  }

  close(): void {
    this.hangUpLocally();
    this.socket?.close();
    this.socket = null;
    this.state = null;
  }

  async start(conversationId: string, media: 'audio' | 'video'): Promise<void> {
    if (this.state && this.state.phase !== 'ended') return;
    const local = await this.media(media);
    const ack = await this.request<{ call: CallView; ice_servers: RTCIceServer[] }>('call_start', {
      conversation_id: conversationId,
      media,
    });
    if (!ack.ok) {
      for (const t of local?.getTracks() ?? []) t.stop();
      this.set({
        call: placeholder(conversationId, media),
        phase: 'ended',
        ...this.fresh(),
        error: ack.error.message,
        endReason: ack.error.code,
      });
      return;
    }
    this.iceServers = ack.data.ice_servers;
    this.set({ call: ack.data.call, phase: 'calling', ...this.fresh(), local });
  }

  /** Keeps `ongoing` up to date with a call's latest view. */
  noteCall(call: CallView): void {
    const live = call.status === 'ringing' || call.status === 'active';
    if (live) this.ongoing.set(call.conversation_id, call);
    else if (this.ongoing.get(call.conversation_id)?.id === call.id)
      this.ongoing.delete(call.conversation_id);
    this.changed();
  }

  /** A call going on here that I am not in (declined, missed, or another device answered): join it. */
  joinable(conversationId: string): CallView | undefined {
    const call = this.ongoing.get(conversationId);
    if (!call || (this.state && this.state.phase !== 'ended')) return undefined;
    return call;
  }

  async join(conversationId: string): Promise<void> {
    const call = this.joinable(conversationId);
    if (!call) return;
    const local = await this.media(call.media);
    const ack = await this.request<{ call: CallView; ice_servers: RTCIceServer[] }>('call_join', {
      call_id: call.id,
    });
    if (!ack.ok) {
      for (const t of local?.getTracks() ?? []) t.stop();
      if (ack.error.code === 'call_ended') this.ongoing.delete(conversationId);
      this.set({
        call,
        phase: 'ended',
        ...this.fresh(),
        error: ack.error.message,
        endReason: ack.error.code,
      });
      return;
    }
    this.iceServers = ack.data.ice_servers;
    this.set({ call: ack.data.call, phase: 'active', ...this.fresh(), local });
  }

  async accept(): Promise<void> {
    const s = this.state;
    if (s?.phase !== 'incoming') return;
    s.local = await this.media(s.call.media);
    const ack = await this.request<{ call: CallView }>('call_accept', { call_id: s.call.id });
    if (!ack.ok) return this.finish(s.call, ack.error.code);
    const ice = await this.request<{ call: CallView; ice_servers: RTCIceServer[] }>('call_join', {
      call_id: s.call.id,
    });
    if (ice.ok) this.iceServers = ice.data.ice_servers;
    s.call = ack.data.call;
    s.phase = 'active';
    this.changed();
  }

  async decline(): Promise<void> {
    const s = this.state;
    if (s?.phase !== 'incoming') return;
    await this.request('call_decline', { call_id: s.call.id });
    this.finish(s.call, 'declined');
  }

  /** Ends the call for everyone (DM, or the caller of a group call); others leave a group call. */
  async hangUp(): Promise<void> {
    const s = this.state;
    if (!s || s.phase === 'ended') return;
    const ownsIt = s.call.conversation_type === 'dm' || s.call.initiator_id === this.me();
    const ack = await this.request<{ call: CallView }>(ownsIt ? 'call_end' : 'call_leave', {
      call_id: s.call.id,
    });
    this.finish(
      ack.ok ? ack.data.call : s.call,
      ownsIt ? (s.phase === 'calling' ? 'cancelled' : 'completed') : 'left',
    );
  }

  toggleMute(): void {
    const s = this.state;
    if (!s?.local) return;
    s.muted = !s.muted;
    for (const t of s.local.getAudioTracks()) t.enabled = !s.muted;
    this.changed();
  }

  dismiss(): void {
    if (this.state?.phase === 'ended') this.state = null;
    this.changed();
  }

  // ---- internals ----

  private fresh() {
    return { remote: new Map(), links: new Map(), local: null, muted: false };
  }

  private set(state: CallState): void {
    if (this.clearTimer) clearTimeout(this.clearTimer);
    this.state = state;
    this.changed();
  }

  private finish(call: CallView, reason: string): void {
    this.hangUpLocally();
    if (!this.state) return;
    this.state.call = call;
    this.state.phase = 'ended';
    this.state.endReason = call.end_reason ?? reason;
    this.changed();
    // The ended banner stays a few seconds, then goes.
    this.clearTimer = setTimeout(() => this.dismiss(), 4_000);
  }

  private hangUpLocally(): void {
    for (const pc of this.peers.values()) pc.close();
    this.peers.clear();
    this.waiting.clear();
    for (const t of this.state?.local?.getTracks() ?? []) t.stop();
  }

  private drop(userId: string): void {
    this.peers.get(userId)?.close();
    this.peers.delete(userId);
    this.state?.remote.delete(userId);
    this.state?.links.delete(userId);
  }

  private async media(kind: 'audio' | 'video'): Promise<MediaStream | null> {
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: true, video: kind === 'video' });
    } catch {
      return null; // no microphone (or refused): the call still connects, receive-only
    }
  }

  private request<T>(event: string, payload: object): Promise<Ack<T>> {
    const socket = this.socket;
    if (!socket) return Promise.resolve({ ok: false, error: { code: 'offline', message: 'Not connected' } });
    return socket
      .timeout(10_000)
      .emitWithAck(event, payload)
      .catch(() => ({
        ok: false,
        error: { code: 'timeout', message: 'No answer from the server' },
      })) as Promise<Ack<T>>;
  }

  private link(userId: string): RTCPeerConnection {
    const existing = this.peers.get(userId);
    if (existing) return existing;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.peers.set(userId, pc);
    const s = this.state;
    for (const track of s?.local?.getTracks() ?? []) pc.addTrack(track, s!.local!);
    if (!s?.local) {
      pc.addTransceiver('audio', { direction: 'recvonly' });
      if (s?.call.media === 'video') pc.addTransceiver('video', { direction: 'recvonly' });
    }
    pc.onicecandidate = (e) =>
      void this.signal(userId, { type: 'candidate', candidate: e.candidate ? e.candidate.toJSON() : null });
    pc.ontrack = (e) => {
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      this.state?.remote.set(userId, stream);
      this.changed();
    };
    pc.onconnectionstatechange = () => {
      this.state?.links.set(userId, pc.connectionState);
      this.changed();
    };
    return pc;
  }

  private async offer(userId: string): Promise<void> {
    if (userId === this.me()) return;
    const pc = this.link(userId);
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await this.signal(userId, { type: 'offer', sdp: offer.sdp });
  }

  private async onSignal(from: string, signal: Signal): Promise<void> {
    const pc = this.link(from);
    if (signal.type === 'offer') {
      await pc.setRemoteDescription({ type: 'offer', sdp: signal.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await this.signal(from, { type: 'answer', sdp: answer.sdp });
      await this.flush(from, pc);
    } else if (signal.type === 'answer') {
      await pc.setRemoteDescription({ type: 'answer', sdp: signal.sdp });
      await this.flush(from, pc);
    } else if (signal.type === 'candidate' && signal.candidate) {
      if (pc.remoteDescription) await pc.addIceCandidate(signal.candidate).catch(() => undefined);
      else this.waiting.set(from, [...(this.waiting.get(from) ?? []), signal.candidate]);
    }
  }

  private async flush(from: string, pc: RTCPeerConnection): Promise<void> {
    for (const c of this.waiting.get(from) ?? []) await pc.addIceCandidate(c).catch(() => undefined);
    this.waiting.delete(from);
  }

  private async signal(to: string, signal: Signal): Promise<void> {
    const s = this.state;
    if (!s) return;
    await this.request('call_signal', { call_id: s.call.id, to_user_id: to, signal });
  }
}

function placeholder(conversationId: string, media: 'audio' | 'video'): CallView {
  return {
    id: '',
    conversation_id: conversationId,
    conversation_type: 'dm',
    initiator_id: null,
    media,
    status: 'ended',
    end_reason: null,
    started_at: new Date().toISOString(),
    answered_at: null,
    ended_at: null,
    duration_ms: null,
    message_id: null,
    participants: [],
  };
}
