// The message box: Enter sends, Shift+Enter a new line, ArrowUp edits your last message, Escape cancels.
import type { Message } from '@tma/sdk';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { store } from '../store.ts';
import { AttachButtons } from './attach-buttons.tsx';

export function Composer({
  id,
  replyTo,
  editing,
  onDone,
  onEditLast,
  onPoll,
}: {
  id: string;
  replyTo: Message | null;
  editing: Message | null;
  onDone: () => void;
  /** ArrowUp in an empty composer edits your last message. */
  onEditLast: () => void;
  onPoll: () => void;
}) {
  const [text, setText] = useState('');
  const area = useRef<HTMLTextAreaElement>(null);
  const typingSent = useRef(0);
  const stopTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // A layout effect: the message is in the box before the next input event, so what is typed right after
  // choosing Edit is never overwritten by it.
  useLayoutEffect(() => {
    if (editing) setText(editing.content ?? '');
    if (editing || replyTo) area.current?.focus();
  }, [editing, replyTo]);

  const submit = () => {
    const content = text.trim();
    if (!content) return;
    if (editing) void store.edit(editing, content);
    else store.send(id, content, replyTo?.id);
    typingSent.current = 0;
    setText('');
    onDone();
  };
  const onInput = (value: string) => {
    setText(value);
    if (editing) return;
    const now = Date.now();
    if (now - typingSent.current > 2_000) {
      typingSent.current = now;
      void store.rt?.typing(id, true);
    }
    if (stopTimer.current) clearTimeout(stopTimer.current);
    stopTimer.current = setTimeout(() => {
      typingSent.current = 0;
      void store.rt?.typing(id, false);
    }, 3_000);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      submit();
    } else if (e.key === 'ArrowUp' && text === '' && !editing) {
      e.preventDefault();
      onEditLast();
    } else if (e.key === 'Escape' && (editing || replyTo)) {
      setText('');
      onDone();
    }
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {(replyTo || editing) && (
        <div class="context">
          <span>
            {editing ? 'Editing message' : `Replying to ${store.userName(replyTo?.sender_id)}: `}
            {replyTo && <em>{replyTo.content}</em>}
          </span>
          <button
            type="button"
            onClick={() => {
              setText('');
              onDone();
            }}
          >
            Cancel
          </button>
        </div>
      )}
      <div class="row">
        {!editing && <AttachButtons id={id} onPoll={onPoll} />}
        <textarea
          ref={area}
          aria-label="Message"
          placeholder="Message"
          rows={1}
          maxLength={10_000}
          value={text}
          onInput={(e) => onInput((e.currentTarget as HTMLTextAreaElement).value)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" class="primary">
          {editing ? 'Save' : 'Send'}
        </button>
      </div>
    </form>
  );
}
