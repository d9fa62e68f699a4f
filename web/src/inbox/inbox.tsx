// My inbox: open tasks, soonest due first, with a live countdown; overdue and escalated
// ones stand out; the left edge is red / amber / green by amount band (red = a large
// amount waiting for someone); filters by counterparty, period and type; new tasks
// arrive live (inbox/store.ts) and are marked until seen.
import { useState } from 'preact/hooks';
import { t } from '../core/i18n';
import { Link, type RouteProps } from '../core/router';
import { useSession, memberOf, type Session } from '../core/session';
import { band } from '../core/money';
import { Badge, Empty, ErrorBox, Spinner, TransferLines } from '../core/ui';
import type { MyTask } from '../core/types';
import { markSeen, reloadTasks, useTasks } from './store';

export { useNewTaskCount } from './store';

/** The other party as this user sees it (the sender for a receiver's task). */
function counterparty(s: Session, task: MyTask) {
  const tr = task.transfer;
  return memberOf(s, tr.receiverEntity.id) ? tr.senderEntity : tr.receiverEntity;
}

function TaskRow({ task, session, isNew }: { task: MyTask; session: Session; isNew: boolean }) {
  const tr = task.transfer;
  const b = band(tr.amount, session.config.thresholds);
  const escalated = task.escalationLevel > 0;
  const cls = ['task', `band-${b}`, task.overdue ? 'overdue' : '', escalated ? 'escalated' : '', isNew ? 'new' : ''].filter(Boolean).join(' ');
  return (
    <li>
      <Link to={`/transfers/${tr.id}`} class={cls} onClick={() => markSeen(task.id)}>
        <span data-testid="task-row" data-transfer-id={tr.id} data-band={b} data-overdue={String(task.overdue)}>
          <TransferLines tr={tr} dueAt={task.dueAt} />
          <span class="task-tags">
            <Badge tone="blue">{t(`task.kind.${task.kind}`)}</Badge>
            {task.overdue && <Badge tone="red">{t('inbox.overdue')}</Badge>}
            {escalated && <Badge tone="amber">{t('inbox.escalated', { level: task.escalationLevel })}</Badge>}
            {task.delegatedTo && <Badge>{t('inbox.delegatedToYou')}</Badge>}
            {b !== 'green' && <Badge tone={b}>{t(`band.${b}`)}</Badge>}
            {isNew && <Badge tone="blue">{t('inbox.new')}</Badge>}
          </span>
        </span>
      </Link>
    </li>
  );
}

export function InboxPage(_: RouteProps) {
  const { session } = useSession();
  const { tasks, total, error, newIds } = useTasks();
  const [cp, setCp] = useState('');
  const [period, setPeriod] = useState('');
  const [type, setType] = useState('');
  if (!session) return null;
  if (!tasks) return error ? <ErrorBox error={error} onRetry={() => void reloadTasks()} /> : <Spinner />;

  const uniq = <T,>(xs: T[], key: (x: T) => string) => [...new Map(xs.map((x) => [key(x), x])).values()];
  const counterparties = uniq(tasks.map((x) => counterparty(session, x)), (e) => e.code).sort((a, b) => a.code.localeCompare(b.code));
  const periods = [...new Set(tasks.map((x) => x.transfer.period))].sort();
  const types = [...new Set(tasks.map((x) => x.transfer.type))].sort();
  const shown = tasks.filter((x) => (!cp || counterparty(session, x).code === cp) && (!period || x.transfer.period === period) && (!type || x.transfer.type === type));

  return (
    <section>
      <h1>
        {t('inbox.title')} <span class="muted" data-testid="inbox-total">({total ? `${total.n}${total.capped ? '+' : ''}` : tasks.length})</span>
      </h1>
      <ErrorBox error={error} />
      {newIds.size > 0 && (
        <div class="new-banner" role="status" data-testid="new-banner">
          <span>{t('inbox.newArrived', { n: newIds.size })}</span>
          <button type="button" class="secondary" onClick={() => markSeen()}>
            {t('inbox.markSeen')}
          </button>
        </div>
      )}
      <div class="filters">
        <label class="field">
          <span class="field-label">{t('inbox.filter.counterparty')}</span>
          <select value={cp} onChange={(e) => setCp(e.currentTarget.value)} data-testid="filter-counterparty">
            <option value="">{t('common.all')}</option>
            {counterparties.map((e) => (
              <option key={e.code} value={e.code}>
                {e.code} {e.name}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span class="field-label">{t('inbox.filter.period')}</span>
          <select value={period} onChange={(e) => setPeriod(e.currentTarget.value)} data-testid="filter-period">
            <option value="">{t('common.all')}</option>
            {periods.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label class="field">
          <span class="field-label">{t('inbox.filter.type')}</span>
          <select value={type} onChange={(e) => setType(e.currentTarget.value)} data-testid="filter-type">
            <option value="">{t('common.all')}</option>
            {types.map((x) => (
              <option key={x} value={x}>
                {t(`type.${x}`)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {shown.length === 0 ? (
        <Empty>{tasks.length === 0 ? t('inbox.empty') : t('inbox.noMatch')}</Empty>
      ) : (
        <ul class="task-list" data-testid="task-list">
          {shown.map((x) => (
            <TaskRow key={x.id} task={x} session={session} isNew={newIds.has(x.id)} />
          ))}
        </ul>
      )}
      <p class="muted">{t('inbox.legend')}</p>
    </section>
  );
}
