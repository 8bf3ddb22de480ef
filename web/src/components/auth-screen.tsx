// Sign in: local accounts (log in, register as REGISTRATION allows) or, in TMS mode, the TMS token hand-off.
import { useState } from 'preact/hooks';
import { store } from '../store.ts';
import { route } from './util.ts';

export function AuthScreen() {
  const config = store.authConfig;
  if (config?.mode === 'tms') return <TmsSignIn loginUrl={config.tms_login_url} />;
  return <LocalSignIn registration={config?.registration ?? 'open'} />;
}

function Failure({ text }: { text: string | null }) {
  return text ? (
    <p role="alert" class="error">
      {text}
    </p>
  ) : null;
}

/** TMS owns the accounts: its sign-in page sends the person back here with a token (docs/identity.md). */
function TmsSignIn({ loginUrl }: { loginUrl: string | null }) {
  return (
    <main class="auth">
      <section class="card" aria-labelledby="auth-title">
        <h1 id="auth-title">Sign in to TMA</h1>
        <p>Your accounts are managed by your organisation's TMS.</p>
        <Failure text={store.signInError} />
        {loginUrl ? (
          <button type="button" class="primary" onClick={() => store.tmsSignIn()}>
            Sign in with TMS
          </button>
        ) : (
          <p>Open TMA from your TMS: this server has no TMS sign-in page set (TMS_LOGIN_URL).</p>
        )}
      </section>
    </main>
  );
}

function LocalSignIn({ registration }: { registration: 'open' | 'invite' | 'closed' }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [error, setError] = useState<string | null>(store.signInError);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    const invite = form.get('invite_code');
    const failed = await store.signIn(
      mode,
      String(form.get('username')),
      String(form.get('password')),
      invite ? String(invite) : undefined,
    );
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
        {register && registration === 'invite' && (
          <label>
            Invite code
            <input name="invite_code" autoComplete="off" required maxLength={64} />
          </label>
        )}
        <Failure text={error} />
        <button type="submit" class="primary" disabled={busy}>
          {register ? 'Create account' : 'Sign in'}
        </button>
        {registration !== 'closed' && (
          <button type="button" class="link" onClick={() => setMode(register ? 'login' : 'register')}>
            {register ? 'I already have an account' : 'New here? Create an account'}
          </button>
        )}
      </form>
    </main>
  );
}
