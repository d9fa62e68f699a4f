// Robot channels (WeCom / DingTalk group robots) of the group and the notifications whose
// delivery failed, with a retry (after fixing the robot's token or secret).
// GET /api/channels, PUT /api/channels/:id {active}, GET /api/notifications?status=FAILED,
// POST /api/notifications/:id/retry. Webhook URLs come back masked; secrets never.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { useSubmit } from '../core/form';
import { api } from '../core/api';
import { formatDateTime, t, tOr } from '../core/i18n';
import { Link, type RouteProps } from '../core/router';
import type { Page } from '../core/types';
import { Badge, Empty, ErrorBox, Spinner } from '../core/ui';
import type { Channel, Notification } from './types';

function ChannelRow({ c, onChanged }: { c: Channel; onChanged: () => void }) {
  const { busy, error, submit: toggle } = useSubmit(async () => {
    await api('PUT', `/api/channels/${c.id}`, { active: !c.active });
    onChanged();
  });
  return (
    <li class="card channel" data-testid="channel-row" data-channel-id={c.id} data-active={String(c.active)}>
      <div class="period-head">
        <strong class="ent-title" title={c.name}>
          {c.name}
        </strong>
        <Badge tone="blue">{t(`hq.robots.kind.${c.kind}`)}</Badge>
        <Badge>{c.entity}</Badge>
        {c.active ? <Badge tone="green">{t('hq.robots.active')}</Badge> : <Badge>{t('hq.robots.inactive')}</Badge>}
      </div>
      <p class="muted url">
        <code>{c.webhookUrl}</code>
        {c.hasSecret ? ` · ${t('hq.robots.signed')}` : ''}
        {c.keywords.length ? ` · ${t('hq.robots.keywords', { list: c.keywords.join(', ') })}` : ''} · {c.language === 'zh' ? '中文' : 'English'}
      </p>
      <p data-testid="channel-counts">
        {t('hq.robots.counts', { sent: c.deliveries.sent, pending: c.deliveries.pending })}{' '}
        {c.deliveries.failed > 0 ? <Badge tone="red">{t('hq.robots.failedN', { n: c.deliveries.failed })}</Badge> : null}
      </p>
      <ErrorBox error={error} />
      <button type="button" class="secondary" disabled={busy} onClick={() => void toggle()} data-testid="channel-toggle">
        {c.active ? t('hq.robots.deactivate') : t('hq.robots.activate')}
      </button>
    </li>
  );
}

function FailedRow({ n, onRetried }: { n: Notification; onRetried: (msg: string) => void }) {
  const failed = n.deliveries.filter((d) => d.status === 'FAILED');
  const { busy, error, submit: retry } = useSubmit(async () => {
    const r = await api<{ retried: number }>('POST', `/api/notifications/${n.id}/retry`);
    onRetried(t('hq.robots.retried', { n: r.retried }));
  });
  return (
    <li class="card" data-testid="failed-row" data-notification-id={n.id}>
      <div class="period-head">
        <strong>{tOr(`hq.robots.event.${n.kind}`, n.kind)}</strong>
        {n.entity && <Badge>{n.entity.code}</Badge>}
        <span class="muted">{formatDateTime(n.createdAt)}</span>
        {n.transferId && <Link to={`/transfers/${n.transferId}`}>{t('hq.robots.openTransfer')}</Link>}
      </div>
      <ul class="reason-list">
        {failed.map((d) => (
          <li key={d.id}>
            {d.robot.name} ({t(`hq.robots.kind.${d.robot.kind}`)}
            {d.robot.removed ? `, ${t('hq.robots.removed')}` : ''}) · {t('hq.robots.attempts', { n: d.attempts })}
            {d.lastError ? (
              <>
                {' · '}
                <span class="field-error">{d.lastError}</span>
              </>
            ) : null}
          </li>
        ))}
      </ul>
      <ErrorBox error={error} />
      <button type="button" disabled={busy} onClick={() => void retry()} data-testid="retry">
        {busy ? t('common.loading') : t('hq.robots.retry')}
      </button>
    </li>
  );
}

export function RobotsPage(_: RouteProps) {
  const [channels, setChannels] = useState<Channel[] | null>(null);
  const [failed, setFailed] = useState<Page<Notification> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const [c, f] = await Promise.all([api<Channel[]>('GET', '/api/channels'), api<Page<Notification>>('GET', '/api/notifications?status=FAILED&pageSize=50')]);
      setChannels(c);
      setFailed(f);
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => void load(), [load]);

  if (!channels || !failed) return error ? <ErrorBox error={error} onRetry={() => void load()} /> : <Spinner />;
  return (
    <section data-testid="robots-page">
      <h1>{t('hq.robots.title')}</h1>
      <p class="muted">{t('hq.robots.help')}</p>
      {message && (
        <div class="ok-box" role="status" data-testid="robots-done">
          {message}
        </div>
      )}
      <ErrorBox error={error} />
      <h2>{t('hq.robots.channels', { n: channels.length })}</h2>
      {channels.length === 0 ? (
        <Empty>{t('hq.robots.noChannels')}</Empty>
      ) : (
        <ul class="plain-list" data-testid="channel-list">
          {channels.map((c) => (
            <ChannelRow key={c.id} c={c} onChanged={() => void load()} />
          ))}
        </ul>
      )}
      <h2>{t('hq.robots.failed', { n: failed.total })}</h2>
      {failed.items.length === 0 ? (
        <Empty>{t('hq.robots.noFailed')}</Empty>
      ) : (
        <ul class="plain-list" data-testid="failed-list">
          {failed.items.map((n) => (
            <FailedRow key={n.id} n={n} onRetried={(m) => (setMessage(m), void load())} />
          ))}
        </ul>
      )}
    </section>
  );
}
