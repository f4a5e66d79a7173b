// Shown when the admin API answers 401: the admin token (exchanged for the cortex_admin cookie by
// POST /api/session), and single sign-on through Cortex's own authentication when it is configured.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, errorText, getJson, sendJson } from '../api.ts';
import type { AuthOptions } from '../types.ts';

const TOKEN_ONLY: AuthOptions = { token: true, login: null };

export function Login() {
  const [options, setOptions] = useState<AuthOptions | undefined>(undefined);
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    getJson<AuthOptions>('/auth/options', { quiet401: true })
      .then(setOptions)
      .catch(() => setOptions(TOKEN_ONLY));
  }, []);

  async function submit(e: Event): Promise<void> {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await sendJson('POST', '/api/session', { token: token.trim() }, { quiet401: true });
      location.reload();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That is not the admin token.' : errorText(err));
      setBusy(false);
    }
  }

  const login = options?.login ?? null;
  return (
    <div class="login-page">
      <div class="login-card">
        <div class="brand login-brand">
          <span class="brand-mark" aria-hidden="true" />
          <span>Cortex</span>
          <span class="brand-sub">admin</span>
        </div>
        <h1>Sign in to the dashboard</h1>
        <p class="muted">Who is accessing what, right now. The dashboard needs the admin credential.</p>
        {login !== null && (
          <>
            <a class="button primary wide" data-testid="login-oidc" href={login.url}>
              Sign in with {login.provider}
            </a>
            <div class="divider">
              <span>or use the admin token</span>
            </div>
          </>
        )}
        <form data-testid="login-form" onSubmit={(e) => void submit(e)}>
          <label for="login-token">Admin token</label>
          <input
            id="login-token"
            data-testid="login-token"
            type="password"
            autocomplete="current-password"
            placeholder="cxa_…"
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            required
          />
          <button class={`button wide ${login === null ? 'primary' : ''}`} data-testid="login-submit" type="submit" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
          {error !== undefined && (
            <div class="form-error" data-testid="login-error" role="alert">
              {error}
            </div>
          )}
        </form>
        <p class="hint">
          <code>cortex dev</code> keeps its token in <code>.cortex/dev/admin-token</code>.
        </p>
      </div>
    </div>
  );
}
