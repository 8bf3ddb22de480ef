// Sign in / create an account (local accounts).
import { useState } from 'preact/hooks';
import { store } from '../store.ts';
import { route } from './util.ts';

export function AuthScreen() {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    const failed = await store.signIn(mode, String(form.get('username')), String(form.get('password')));
    setBusy(false);
    if (failed) setError(failed);
    else store.show(route());
  };
  const register = mode === 'register';
  return (
    <main class="auth">
      <form class="card" onSubmit={submit} aria-labelledby="auth-title">
        <h1 id="auth-title">{register ? 'Create your account' : 'Sign in to TMA'}</h1>
        <label>
          Username
          <input name="username" autoComplete="username" required minLength={3} maxLength={32} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={register ? 'new-password' : 'current-password'}
            required
            minLength={8}
          />
        </label>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {register ? 'Create account' : 'Sign in'}
        </button>
        <button type="button" class="link" onClick={() => setMode(register ? 'login' : 'register')}>
          {register ? 'I already have an account' : 'New here? Create an account'}
        </button>
      </form>
    </main>
  );
}
