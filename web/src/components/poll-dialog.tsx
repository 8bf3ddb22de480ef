// New poll: a question, 2 to 12 options, single or multiple choice, optionally anonymous.
import { useEffect, useRef, useState } from 'preact/hooks';
import { store } from '../store.ts';
import { useDialog } from './use-dialog.ts';

export function PollDialog({ id, onClose }: { id: string; onClose: () => void }) {
  const [question, setQuestion] = useState('');
  const [options, setOptions] = useState(['', '']);
  const [multiple, setMultiple] = useState(false);
  const [anonymous, setAnonymous] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const dialog = useDialog<HTMLFormElement>(onClose);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  const filled = options.map((o) => o.trim()).filter(Boolean);
  const create = async (event: Event) => {
    event.preventDefault();
    const failed = await store.createPoll(id, {
      question: question.trim(),
      options: filled,
      multiple_choice: multiple,
      anonymous,
      client_id: crypto.randomUUID(),
    });
    if (failed) setError(failed);
    else onClose();
  };
  return (
    <div class="backdrop">
      <form
        class="card dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="poll-title"
        onSubmit={create}
        ref={dialog}
        tabIndex={-1}
      >
        <h2 id="poll-title">New poll</h2>
        <label>
          Question
          <input
            ref={first}
            value={question}
            required
            maxLength={300}
            onInput={(e) => setQuestion((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        {options.map((o, i) => (
          <label key={i}>
            Option {i + 1}
            <input
              value={o}
              maxLength={100}
              onInput={(e) =>
                setOptions(options.map((x, j) => (j === i ? (e.currentTarget as HTMLInputElement).value : x)))
              }
            />
          </label>
        ))}
        {options.length < 12 && (
          <button type="button" class="link" onClick={() => setOptions([...options, ''])}>
            Add an option
          </button>
        )}
        <label class="check">
          <input type="checkbox" checked={multiple} onChange={(e) => setMultiple(e.currentTarget.checked)} />
          Allow several answers
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={anonymous}
            onChange={(e) => setAnonymous(e.currentTarget.checked)}
          />
          Anonymous votes
        </label>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <div class="row">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={!question.trim() || filled.length < 2}>
            Create poll
          </button>
        </div>
      </form>
    </div>
  );
}
