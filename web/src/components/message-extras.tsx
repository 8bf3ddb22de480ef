// What a message carries besides its text: a poll (vote, live counts), attachments (images, files, voice notes)
// and a link preview.
import type { Message } from '@tma/sdk';
import { useState } from 'preact/hooks';
import { type Poll, store } from '../store.ts';
import { VoiceNote } from './voice-note.tsx';

type Attachment = Message['attachments'][number];

export function PollCard({ pollId }: { pollId: string }) {
  const poll = store.poll(pollId);
  const [error, setError] = useState<string | null>(null);
  if (!poll) return <p class="muted small">Loading poll…</p>;
  const mine = new Set(poll.my_option_ids);
  const most = Math.max(1, ...poll.options.map((o) => o.count));
  const canClose = !poll.closed && (poll.created_by === store.me?.id || isGroupAdmin(poll));
  const choose = async (optionId: string) => {
    let next: string[];
    if (poll.multiple_choice)
      next = mine.has(optionId) ? [...mine].filter((x) => x !== optionId) : [...mine, optionId];
    else next = mine.has(optionId) ? [] : [optionId];
    setError(await store.vote(poll, next));
  };
  return (
    <fieldset class="poll" aria-label={`Poll: ${poll.question}`}>
      <legend class="poll-question">{poll.question}</legend>
      <p class="muted small">
        {poll.multiple_choice ? 'Choose any' : 'Choose one'}
        {poll.anonymous ? ' · anonymous' : ''}
        {poll.closed ? ' · closed' : ''}
      </p>
      <ul class="poll-options">
        {[...poll.options]
          .sort((a, b) => a.position - b.position)
          .map((o) => (
            <li key={o.id}>
              <button
                type="button"
                class={`poll-option ${mine.has(o.id) ? 'chosen' : ''}`}
                aria-pressed={mine.has(o.id)}
                disabled={poll.closed}
                aria-label={`${o.text}: ${o.count} ${o.count === 1 ? 'vote' : 'votes'}`}
                onClick={() => void choose(o.id)}
              >
                <span class="poll-bar" style={{ width: `${(o.count / most) * 100}%` }} aria-hidden="true" />
                <span class="poll-text">{o.text}</span>
                <span class="poll-count">{o.count}</span>
              </button>
            </li>
          ))}
      </ul>
      <p class="muted small">
        {poll.total_voters} {poll.total_voters === 1 ? 'person voted' : 'people voted'}
      </p>
      {error && (
        <p role="alert" class="error small">
          {error}
        </p>
      )}
      {canClose && (
        <button type="button" class="link" onClick={() => void store.closePoll(poll).then(setError)}>
          Close poll
        </button>
      )}
    </fieldset>
  );
}

function isGroupAdmin(poll: Poll): boolean {
  const c = store.conversations.get(poll.conversation_id);
  return c?.type === 'group' && c.my_role === 'admin';
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function Attachments({ files }: { files: Attachment[] }) {
  return (
    <div class="attachments">
      {files.map((f) => (
        <AttachmentView key={f.id} f={f} />
      ))}
    </div>
  );
}

function AttachmentView({ f }: { f: Attachment }) {
  if (f.status === 'failed') return <p class="error small">{f.name}: could not be processed</p>;
  if (f.kind === 'image') {
    const src = f.thumbnail_url ?? f.url;
    return src ? (
      <a href={f.url ?? src} target="_blank" rel="noopener" class="image">
        <img
          src={src}
          alt={f.name}
          width={f.width ?? undefined}
          height={f.height ?? undefined}
          loading="lazy"
          class={f.thumbnail_url ? 'thumbnail' : ''}
        />
      </a>
    ) : (
      <p class="muted small">{f.name} (processing…)</p>
    );
  }
  if (f.kind === 'voice')
    return f.url ? (
      <VoiceNote f={{ ...f, url: f.url }} label={`Voice note${durationText(f.duration_ms)}`} />
    ) : (
      <p class="muted small">Voice note (processing…)</p>
    );
  return (
    <a class="file" href={f.url ?? undefined} download={f.name} aria-disabled={!f.url}>
      {f.name} <span class="muted">({size(f.size)})</span>
    </a>
  );
}

function durationText(ms: number | null): string {
  if (!ms) return '';
  const seconds = Math.round(ms / 1000);
  return `, ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

interface LinkPreviewData {
  url: string;
  title?: string | null;
  description?: string | null;
  site_name?: string | null;
}

/** The server's preview of the first link; its image is left out (it lives on another host). */
export function LinkPreview({ metadata }: { metadata: Message['metadata'] }) {
  const p = metadata.link_preview as LinkPreviewData | undefined;
  if (!p || typeof p.url !== 'string' || !/^https?:\/\//.test(p.url)) return null;
  return (
    <a class="link-preview" href={p.url} target="_blank" rel="noopener noreferrer">
      {p.site_name && <span class="muted small">{p.site_name}</span>}
      <strong>{p.title ?? p.url}</strong>
      {p.description && <span class="small">{p.description}</span>}
    </a>
  );
}
