// Shared components: Layout (header + navigation), Money, Badge, ErrorBox, Countdown,
// Spinner, Empty, Field. Styles in web/src/styles.css (class names below).
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { setLang, t, useLang } from './i18n';
import { Link, useLocation, type RouteDef } from './router';
import { logout, type Session } from './session';
import { formatDecimal } from './money';
import type { TransferSummary } from './types';

// ---- layout ---------------------------------------------------------------------

function NavItem({ route, active }: { route: RouteDef; active: boolean }) {
  const count = route.useBadge ? route.useBadge() : 0;
  return (
    <Link to={route.path} class={`nav-item${active ? ' active' : ''}`} aria-current={active ? 'page' : undefined}>
      {t(route.nav!)}
      {count > 0 && (
        <span class="badge badge-count" data-testid={`nav-badge-${route.path.replace(/\W+/g, '') || 'home'}`} aria-label={String(count)}>
          {count}
        </span>
      )}
    </Link>
  );
}

/** The page frame: header with the navigation (items the user may open), user, language, logout. */
export function Layout({ session, routes, children }: { session: Session; routes: RouteDef[]; children: ComponentChildren }) {
  const lang = useLang();
  const { path } = useLocation();
  const items = routes.filter((r) => r.nav && (!r.allow || r.allow(session)));
  const roles = [
    ...(session.user.groupRole ? [t(`role.${session.user.groupRole}`)] : []),
    ...session.user.memberships.map((m) => `${m.entity.code} ${t(`role.${m.role}`)}`),
  ];
  return (
    <div class="app">
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        {t('nav.skip')}
      </a>
      <header class="topbar">
        <Link to="/" class="brand">
          {t('app.title')}
        </Link>
        <nav class="nav" aria-label={t('nav.menu')}>
          {items.map((r) => (
            <NavItem key={r.path} route={r} active={r.path === '/' ? path === '/' : path.startsWith(r.path)} />
          ))}
        </nav>
        <div class="user">
          <span class="user-name" title={roles.join(', ')} data-testid="user-name">
            {session.user.displayName}
          </span>
          <button type="button" class="link" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')} aria-label={t('lang.label')} data-testid="lang-switch">
            {t('lang.switch')}
          </button>
          <button type="button" class="link" onClick={logout} data-testid="logout">
            {t('logout')}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

// ---- small components -----------------------------------------------------------

/** An exact decimal amount with its currency, grouped by thousands; never parsed into a float. */
export function Money({ amount, currency, fraction = 2, class: cls }: { amount: string | null | undefined; currency?: string; fraction?: number; class?: string }) {
  return (
    <span class={`money${cls ? ` ${cls}` : ''}`}>
      {formatDecimal(amount, fraction)}
      {currency && amount ? <span class="currency"> {currency}</span> : null}
    </span>
  );
}

export type Tone = 'red' | 'amber' | 'green' | 'blue' | 'grey';
export function Badge({ tone = 'grey', children, title }: { tone?: Tone; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

/** A failed request in plain words (with the fields to check for a 400). Render it above the form; never clear the form on error. */
export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  const message = e ? e.message : error instanceof Error ? error.message : String(error);
  return (
    <div class="error-box" role="alert" data-testid="error-box">
      <strong>{t('error.title')}</strong>
      <p>{message}</p>
      {e?.details && e.details.length > 0 && (
        <>
          <p>{t('error.fields')}</p>
          <ul>
            {e.details.map((d) => (
              <li key={d.field}>
                <code>{d.field}</code>: {d.message}
              </li>
            ))}
          </ul>
        </>
      )}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}

function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}

/** "2天3小时" / "1d 3h": the largest two units. */
export function formatDuration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  const parts: Array<[string, number]> = [
    ['countdown.d', Math.floor(s / 86400)],
    ['countdown.h', Math.floor((s % 86400) / 3600)],
    ['countdown.m', Math.floor((s % 3600) / 60)],
    ['countdown.s', s % 60],
  ];
  const first = parts.findIndex(([, n]) => n > 0);
  if (first < 0) return t('countdown.s', { n: 0 });
  return parts
    .slice(first, first + 2)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => t(k, { n }))
    .join(' ');
}

/** Live countdown to a due time; turns red when overdue. */
export function Countdown({ dueAt }: { dueAt: string }) {
  const now = useNow(1000);
  const left = new Date(dueAt).getTime() - now;
  const overdue = left < 0;
  return (
    <time class={`countdown${overdue ? ' overdue' : left < 4 * 3600_000 ? ' soon' : ''}`} dateTime={dueAt} data-testid="countdown">
      {overdue ? t('countdown.overdue', { time: formatDuration(left) }) : t('countdown.left', { time: formatDuration(left) })}
    </time>
  );
}

export function Spinner({ label }: { label?: string }) {
  return (
    <div class="spinner" role="status" aria-live="polite">
      <span class="spinner-dot" aria-hidden="true" />
      {label ?? t('common.loading')}
    </div>
  );
}

export function Empty({ children }: { children?: ComponentChildren }) {
  return <div class="empty">{children ?? t('common.empty')}</div>;
}

/** A labelled form field with its error under it. */
export function Field({ label, error, children, hint }: { label: string; error?: string; hint?: string; children: ComponentChildren }) {
  return (
    <label class={`field${error ? ' invalid' : ''}`}>
      <span class="field-label">{label}</span>
      {children}
      {hint && !error && <span class="field-hint">{hint}</span>}
      {error && <span class="field-error">{error}</span>}
    </label>
  );
}

/** The two lines of a transfer in a list (inbox, arbitration queue): who → whom and the amount; document, type, period and the countdown to `dueAt`. */
export function TransferLines({ tr, dueAt }: { tr: TransferSummary; dueAt: string }) {
  return (
    <>
      <span class="task-top">
        <span class="task-who" title={`${tr.senderEntity.name} → ${tr.receiverEntity.name}`}>
          {tr.senderEntity.name} → {tr.receiverEntity.name}
        </span>
        <Money amount={tr.amount} currency={tr.currency} />
      </span>
      <span class="task-bottom">
        <span class="task-meta">
          {tr.externalRef} · {t(`type.${tr.type}`)} · {tr.period}
        </span>
        <Countdown dueAt={dueAt} />
      </span>
    </>
  );
}
