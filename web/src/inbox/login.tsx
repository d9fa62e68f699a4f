// Login, with the demo logins listed in demo mode (GET /api/auth/demo-logins).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../core/api';
import { setLang, t, useLang } from '../core/i18n';
import { navigate, type RouteProps } from '../core/router';
import { login } from '../core/session';
import { ErrorBox, Field } from '../core/ui';

export function LoginPage({ query }: RouteProps) {
  const lang = useLang();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [demo, setDemo] = useState<{ password: string; logins: Array<{ username: string; role: string }> } | null>(null);
  useEffect(() => {
    api<{ password: string; logins: Array<{ username: string; role: string }> }>('GET', '/api/auth/demo-logins', undefined, { noLogout: true })
      .then(setDemo)
      .catch(() => setDemo(null));
  }, []);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username.trim(), password);
      navigate(query.get('next') || '/', { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="login" id="main">
      <div class="title-line" style="justify-content: space-between">
        <h1>{t('app.title')}</h1>
        <button type="button" class="link" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')} data-testid="lang-switch">
          {t('lang.switch')}
        </button>
      </div>
      <form class="card" onSubmit={submit} data-testid="login-form">
        <h2>{t('login.title')}</h2>
        <ErrorBox error={error} />
        <Field label={t('login.username')}>
          <input name="username" autoComplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required autoFocus />
        </Field>
        <Field label={t('login.password')}>
          <input name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        </Field>
        <button type="submit" disabled={busy}>
          {t('login.submit')}
        </button>
      </form>
      {demo && (
        <section class="card" data-testid="demo-logins">
          <h2>{t('login.demo')}</h2>
          <p class="muted">{t('login.demoHint')}</p>
          <div class="demo-logins">
            {demo.logins.map((l) => (
              <button type="button" key={l.username} title={l.role} onClick={() => (setUsername(l.username), setPassword(demo.password))}>
                {l.username}
              </button>
            ))}
          </div>
        </section>
      )}
    </main>
  );
}
