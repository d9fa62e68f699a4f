// One transfer (/#/transfers/:id): both sides' documents side by side with the
// differences highlighted, the actions this user may take (GET /api/transfers/:id/actions),
// the routing, comments, the audit timeline, and a link to the workflow in Temporal's UI.
// Action forms keep what was typed when the server refuses; errors are in plain words.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from '../core/api';
import { onEvent } from '../core/events';
import { compact, useForm, useSubmit } from '../core/form';
import { formatDateTime, t, tOr } from '../core/i18n';
import { amountConsistent, expectedAmount, isDecimal, padFraction, sameDecimal } from '../core/money';
import type { RouteProps } from '../core/router';
import { useSession } from '../core/session';
import { DISPUTE_REASONS, STATUS_TONE, type Figures, type Task, type TransferActions, type TransferDetail } from '../core/types';
import { Badge, Countdown, ErrorBox, Field, Money, Spinner } from '../core/ui';
import { transferPanels } from '../hq';
import { reloadTasks } from './store';

type ActionResponse = { status: string; transfer: TransferDetail };
type Run = (path: string, body: unknown, done: string) => Promise<boolean>;

const FIELDS = ['quantity', 'unitPrice', 'amount', 'date'] as const;

// ---- documents side by side -------------------------------------------------------

function Compare({ tr }: { tr: TransferDetail }) {
  const diffFields = new Set(tr.differences.map((d) => d.field));
  const r = tr.receiver;
  const res = tr.resolution;
  /** Amounts in the list of differences with their cents, like everywhere else ("100.5" → "100.50"). */
  const shown = (field: string, v: string | null) => (field === 'amount' ? padFraction(v) : v);
  const fmt = (f: (typeof FIELDS)[number], v: string | null) =>
    f === 'date' ? (v ?? '—') : <Money amount={v} currency={f === 'amount' ? tr.currency : undefined} fraction={f === 'amount' ? 2 : 0} />;
  const differs = (f: (typeof FIELDS)[number]) => diffFields.has(f) || (r !== null && (f === 'date' ? r.date !== tr.sender.date : !sameDecimal(r[f], tr.sender[f])));
  return (
    <div class="table-wrap">
      <table class="compare" data-testid="compare">
        <thead>
          <tr>
            <th />
            <th>{t('detail.senderSide', { code: tr.senderEntity.code })}</th>
            <th>{t('detail.receiverSide', { code: tr.receiverEntity.code })}</th>
            {res && <th>{t('detail.resolution')}</th>}
          </tr>
        </thead>
        <tbody>
          <tr>
            <th>{t('detail.documentRef')}</th>
            <td>{tr.externalRef}</td>
            <td>{r?.receiptRef ?? '—'}</td>
            {res && <td>{t(`decision.${res.decision}`)}</td>}
          </tr>
          {FIELDS.map((f) => (
            <tr key={f} class={differs(f) ? 'diff' : ''} data-field={f} data-diff={String(differs(f))}>
              <th>
                {t(`field.${f}`)}
                {f === 'quantity' && tr.unit ? ` (${tr.unit})` : ''}
              </th>
              <td>{fmt(f, tr.sender[f])}</td>
              <td>{r ? fmt(f, r[f]) : <span class="muted">{t('detail.notYet')}</span>}</td>
              {res && <td>{fmt(f, res[f])}</td>}
            </tr>
          ))}
        </tbody>
      </table>
      {tr.differences.length > 0 && (
        <ul data-testid="differences">
          {tr.differences.map((d) => (
            <li key={d.field}>
              <strong>{tOr(`field.${d.field}`, d.field)}</strong>: {shown(d.field, d.senderValue) ?? '—'} → {shown(d.field, d.receiverValue) ?? '—'}
              {d.delta ? ` (${t('detail.delta')} ${shown(d.field, d.delta)})` : ''}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// ---- action forms -------------------------------------------------------------------

function Submit({ busy, children, danger }: { busy: boolean; children: ComponentChildren; danger?: boolean }) {
  return (
    <button type="submit" disabled={busy} class={danger ? 'danger' : ''}>
      {children}
    </button>
  );
}

function decimalError(v: string, required: boolean): string | undefined {
  if (!v.trim()) return required ? t('form.required') : undefined;
  return isDecimal(v) ? undefined : t('form.decimal');
}

/** Quantity / unit price / amount / date, validated as typed; `against` shows where they differ from the sender's. */
function FigureFields({ form, against }: { form: ReturnType<typeof useForm<Record<'quantity' | 'unitPrice' | 'amount' | 'date', string>>>; against?: Figures }) {
  const v = form.values;
  const qErr = decimalError(v.quantity, !!v.unitPrice.trim());
  const pErr = decimalError(v.unitPrice, !!v.quantity.trim());
  let aErr = decimalError(v.amount, true);
  if (!aErr && !qErr && !pErr && v.quantity.trim() && v.unitPrice.trim() && !amountConsistent(v.quantity, v.unitPrice, v.amount)) {
    aErr = t('form.amountMismatch', { expected: expectedAmount(v.quantity, v.unitPrice) });
  }
  const dErr = !v.date ? t('form.required') : undefined;
  const hint = (f: (typeof FIELDS)[number]) => {
    if (!against) return undefined;
    const mine = v[f].trim() || null;
    const theirs = against[f];
    const same = f === 'date' ? mine === theirs : sameDecimal(mine, theirs);
    return same ? undefined : t('form.differsFromSender', { value: theirs ?? '—' });
  };
  return (
    <div class="form-grid">
      <Field label={t('field.quantity')} error={qErr} hint={hint('quantity')}>
        <input inputMode="decimal" {...form.bind('quantity')} />
      </Field>
      <Field label={t('field.unitPrice')} error={pErr} hint={hint('unitPrice')}>
        <input inputMode="decimal" {...form.bind('unitPrice')} />
      </Field>
      <Field label={t('field.amount')} error={aErr} hint={hint('amount')}>
        <input inputMode="decimal" {...form.bind('amount')} required />
      </Field>
      <Field label={t('field.date')} error={dErr} hint={hint('date')}>
        <input type="date" {...form.bind('date')} required />
      </Field>
    </div>
  );
}

const figuresValid = (v: Record<'quantity' | 'unitPrice' | 'amount' | 'date', string>) =>
  !!v.date &&
  isDecimal(v.amount) &&
  (!v.quantity.trim() && !v.unitPrice.trim() ? true : isDecimal(v.quantity) && isDecimal(v.unitPrice) && amountConsistent(v.quantity, v.unitPrice, v.amount));

function ConfirmForm({ tr, run }: { tr: TransferDetail; run: Run }) {
  const form = useForm({
    receiptRef: '',
    quantity: tr.sender.quantity ?? '',
    unitPrice: tr.sender.unitPrice ?? '',
    amount: padFraction(tr.sender.amount),
    date: tr.sender.date ?? '',
    comment: '',
  });
  const v = form.values;
  const { busy, submit } = useSubmit(async () => {
    await run(`/api/transfers/${tr.id}/confirm`, { ...compact(v, ['receiptRef', 'quantity', 'unitPrice', 'amount', 'date', 'comment']) }, t('action.confirm.done'));
  });
  return (
    <form onSubmit={submit} data-testid="form-confirm">
      <p class="muted">{t('action.confirm.help')}</p>
      <Field label={t('field.receiptRef')} error={form.touched.receiptRef && !v.receiptRef.trim() ? t('form.required') : undefined}>
        <input {...form.bind('receiptRef')} required maxLength={64} />
      </Field>
      <FigureFields form={form as never} against={tr.sender} />
      <Field label={t('field.comment')}>
        <textarea {...form.bind('comment')} maxLength={1000} />
      </Field>
      <Submit busy={busy || !v.receiptRef.trim() || !figuresValid(v)}>{t('action.confirm')}</Submit>
    </form>
  );
}

function ReasonForm({ path, label, done, run, danger, optional, testid }: { path: string; label: string; done: string; run: Run; danger?: boolean; optional?: boolean; testid: string }) {
  const form = useForm({ reason: '' });
  const { busy, submit } = useSubmit(async () => {
    const reason = form.values.reason.trim();
    if (await run(path, optional && !reason ? {} : { reason }, done)) form.reset();
  });
  return (
    <form onSubmit={submit} data-testid={testid}>
      <Field label={t('field.reason')}>
        <textarea {...form.bind('reason')} required={!optional} maxLength={1000} />
      </Field>
      <Submit busy={busy || (!optional && !form.values.reason.trim())} danger={danger}>
        {label}
      </Submit>
    </form>
  );
}

function DisputeForm({ tr, run }: { tr: TransferDetail; run: Run }) {
  const form = useForm({ reason: 'QUANTITY', text: '' });
  const { busy, submit } = useSubmit(async () => {
    await run(`/api/transfers/${tr.id}/dispute`, { reason: form.values.reason, text: form.values.text.trim() }, t('action.dispute.done'));
  });
  return (
    <form onSubmit={submit} data-testid="form-dispute">
      <Field label={t('field.disputeReason')}>
        <select {...form.bind('reason')} onChange={form.bind('reason').onInput}>
          {DISPUTE_REASONS.map((r) => (
            <option key={r} value={r}>
              {t(`dispute.${r}`)}
            </option>
          ))}
        </select>
      </Field>
      <Field label={t('field.disputeText')}>
        <textarea {...form.bind('text')} required maxLength={2000} />
      </Field>
      <Submit busy={busy || !form.values.text.trim()}>{t('action.dispute')}</Submit>
    </form>
  );
}

function CorrectForm({ tr, run }: { tr: TransferDetail; run: Run }) {
  const target = tr.receiver ?? tr.sender;
  const form = useForm({ quantity: target.quantity ?? '', unitPrice: target.unitPrice ?? '', amount: padFraction(target.amount), date: target.date ?? '', reason: '' });
  const { busy, submit } = useSubmit(async () => {
    await run(`/api/transfers/${tr.id}/correct`, compact(form.values, ['quantity', 'unitPrice', 'amount', 'date', 'reason']), t('action.correct.done'));
  });
  return (
    <form onSubmit={submit} data-testid="form-correct">
      <p class="muted">{t('action.correct.help')}</p>
      <FigureFields form={form as never} />
      <Field label={t('field.reason')}>
        <textarea {...form.bind('reason')} required maxLength={1000} />
      </Field>
      <Submit busy={busy || !form.values.reason.trim() || !figuresValid(form.values)}>{t('action.correct')}</Submit>
    </form>
  );
}

function HandOverForm({ taskId, kind, colleagues, run }: { taskId: string; kind: 'delegate' | 'transfer'; colleagues: TransferActions['colleagues']; run: Run }) {
  const form = useForm({ to: colleagues[0]?.username ?? '', comment: '' });
  const { busy, submit } = useSubmit(async () => {
    await run(`/api/tasks/${taskId}/${kind}`, compact(form.values, ['to', 'comment']), t(`action.${kind}.done`));
  });
  return (
    <form onSubmit={submit} data-testid={`form-${kind}`}>
      <p class="muted">{t(`action.${kind}.help`)}</p>
      <Field label={t('field.colleague')}>
        {colleagues.length > 0 ? (
          <select {...form.bind('to')} onChange={form.bind('to').onInput}>
            {colleagues.map((c) => (
              <option key={c.username} value={c.username}>
                {c.name} ({c.username})
              </option>
            ))}
          </select>
        ) : (
          <input {...form.bind('to')} placeholder="username" />
        )}
      </Field>
      <Field label={t('field.comment')}>
        <textarea {...form.bind('comment')} maxLength={1000} />
      </Field>
      <Submit busy={busy || !form.values.to.trim()}>{t(`action.${kind}`)}</Submit>
    </form>
  );
}

function ApproveForm({ taskId, run }: { taskId: string; run: Run }) {
  const form = useForm({ comment: '' });
  const { busy, submit } = useSubmit(async () => {
    await run(`/api/tasks/${taskId}/approve`, compact(form.values, ['comment']), t('action.approve.done'));
  });
  return (
    <form onSubmit={submit} data-testid="form-approve">
      <Field label={t('field.comment')}>
        <textarea {...form.bind('comment')} maxLength={1000} />
      </Field>
      <Submit busy={busy}>{t('action.approve')}</Submit>
    </form>
  );
}

function CommentForm({ tr, onAdded }: { tr: TransferDetail; onAdded: () => void }) {
  const form = useForm({ text: '' });
  const { busy, error, submit } = useSubmit(async () => {
    await api('POST', `/api/transfers/${tr.id}/comments`, { text: form.values.text.trim() });
    form.reset();
    onAdded();
  });
  return (
    <form onSubmit={submit} data-testid="form-comment">
      <ErrorBox error={error} />
      <Field label={t('field.comment')}>
        <textarea {...form.bind('text')} required maxLength={4000} />
      </Field>
      <Submit busy={busy || !form.values.text.trim()}>{t('action.comment')}</Submit>
    </form>
  );
}

type ActionKey = 'confirm' | 'reject' | 'dispute' | 'withdraw' | 'correct' | `approve:${string}` | `taskReject:${string}` | `delegate:${string}` | `transfer:${string}`;

function ActionPanel({ tr, actions, run, error }: { tr: TransferDetail; actions: TransferActions; run: Run; error: unknown }) {
  const keys: ActionKey[] = [];
  if (actions.confirm) keys.push('confirm');
  if (actions.dispute) keys.push('dispute');
  if (actions.reject) keys.push('reject');
  for (const task of actions.tasks) {
    if (task.approve) keys.push(`approve:${task.taskId}`);
    if (task.reject) keys.push(`taskReject:${task.taskId}`);
    if (task.delegate) keys.push(`delegate:${task.taskId}`);
    if (task.transfer) keys.push(`transfer:${task.taskId}`);
  }
  if (actions.correct) keys.push('correct');
  if (actions.withdraw) keys.push('withdraw');
  const [selected, setSelected] = useState<ActionKey | null>(keys[0] ?? null);
  const current = selected && keys.includes(selected) ? selected : (keys[0] ?? null);
  if (!current) return null;
  const [name, taskId] = current.split(':') as [string, string | undefined];
  const label = (k: ActionKey) => t(`action.${k.split(':')[0]}`);
  // Every form stays mounted (hidden when not selected) so switching tabs or an error never loses what was typed.
  const forms: Array<[ActionKey, ComponentChildren]> = keys.map((k) => {
    const [n, id] = k.split(':') as [string, string | undefined];
    switch (n) {
      case 'confirm':
        return [k, <ConfirmForm tr={tr} run={run} />];
      case 'dispute':
        return [k, <DisputeForm tr={tr} run={run} />];
      case 'reject':
        return [k, <ReasonForm testid="form-reject" path={`/api/transfers/${tr.id}/reject`} label={t('action.reject')} done={t('action.reject.done')} run={run} danger />];
      case 'withdraw':
        return [k, <ReasonForm testid="form-withdraw" path={`/api/transfers/${tr.id}/withdraw`} label={t('action.withdraw')} done={t('action.withdraw.done')} run={run} danger optional />];
      case 'correct':
        return [k, <CorrectForm tr={tr} run={run} />];
      case 'approve':
        return [k, <ApproveForm taskId={id!} run={run} />];
      case 'taskReject':
        return [k, <ReasonForm testid="form-task-reject" path={`/api/tasks/${id}/reject`} label={t('action.taskReject')} done={t('action.reject.done')} run={run} danger />];
      default:
        return [k, <HandOverForm taskId={id!} kind={n as 'delegate' | 'transfer'} colleagues={actions.colleagues} run={run} />];
    }
  });
  void name;
  void taskId;
  return (
    <section class="card" data-testid="actions">
      <h2>{t('detail.yourActions')}</h2>
      <div class="tabs" role="tablist">
        {keys.map((k) => (
          <button type="button" role="tab" key={k} aria-selected={k === current} onClick={() => setSelected(k)} data-testid={`tab-${k.split(':')[0]}`}>
            {label(k)}
          </button>
        ))}
      </div>
      <ErrorBox error={error} />
      {forms.map(([k, node]) => (
        <div key={k} hidden={k !== current} role="tabpanel">
          {node}
        </div>
      ))}
    </section>
  );
}

// ---- routing and timeline -------------------------------------------------------------

function who(task: Task): string {
  if (task.delegatedTo) return `${task.delegatedTo.name} (${t('routing.delegatedBy', { name: task.assignee?.name ?? '?' })})`;
  if (task.assignee) return task.assignee.name + (task.onBehalfOf ? ` (${t('routing.onBehalfOf', { name: task.onBehalfOf.name })})` : '');
  if (task.candidateGroupRole) return t(`role.${task.candidateGroupRole}`);
  if (task.candidateEntity) return `${task.candidateEntity.code} ${t(`role.${task.candidateRole ?? 'ACCOUNTANT'}`)}`;
  return '—';
}

function Routing({ tr }: { tr: TransferDetail }) {
  return (
    <section class="card" data-testid="routing">
      <h2>{t('detail.routing')}</h2>
      <ul class="routing">
        {tr.tasks.map((task) => (
          <li key={task.id}>
            <Badge tone={task.status === 'OPEN' ? 'blue' : 'grey'}>{t(`task.kind.${task.kind}`)}</Badge>
            <span>{who(task)}</span>
            {task.status === 'OPEN' ? (
              <>
                <Badge tone="amber">{t('routing.mustAct')}</Badge>
                <Countdown dueAt={task.dueAt} />
              </>
            ) : (
              <span class="muted">
                {tOr(`outcome.${task.outcome}`, task.outcome ?? tOr(`taskStatus.${task.status}`, task.status))}
                {task.actedBy ? ` · ${task.actedBy.name}` : ''}
                {task.actedAt ? ` · ${formatDateTime(task.actedAt)}` : ''}
              </span>
            )}
            {task.escalationLevel > 0 && <Badge tone="amber">{t('inbox.escalated', { level: task.escalationLevel })}</Badge>}
            {task.comment && <span class="muted">“{task.comment}”</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Timeline({ tr }: { tr: TransferDetail }) {
  return (
    <section class="card" data-testid="timeline">
      <h2>{t('detail.timeline')}</h2>
      <ol class="timeline">
        {[...tr.timeline].reverse().map((e, i) => (
          <li key={i}>
            <time dateTime={e.at}>{formatDateTime(e.at)}</time>
            <strong>{tOr(`audit.${e.action}`, e.action)}</strong> · {e.actor}
            {e.reason ? <div class="muted">{e.reason}</div> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

// ---- the page -------------------------------------------------------------------------

export function TransferPage({ params }: RouteProps) {
  const { session } = useSession();
  const [tr, setTr] = useState<TransferDetail | null>(null);
  const [actions, setActions] = useState<TransferActions | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const id = params.id;

  const load = useCallback(async () => {
    try {
      const [d, a] = await Promise.all([api<TransferDetail>('GET', `/api/transfers/${id}`), api<TransferActions>('GET', `/api/transfers/${id}/actions`)]);
      setTr(d);
      setActions(a);
      setLoadError(null);
    } catch (err) {
      setLoadError(err);
    }
  }, [id]);

  useEffect(() => {
    void load();
    return onEvent((e) => {
      if (e.transferId === id) void load();
    });
  }, [load, id]);

  const run: Run = async (path, body, done) => {
    setActionError(null);
    setMessage(null);
    try {
      const r = await api<ActionResponse>('POST', path, body);
      setTr(r.transfer);
      await load(); // what this user may do now
      // A confirmation whose figures differ disputes the transfer: say so, not just "confirmed".
      const mismatch = path.endsWith('/confirm') && r.transfer.status === 'DISPUTED';
      setMessage(mismatch ? t('detail.confirmedMismatch') : `${done} ${t('detail.statusNow', { status: t(`status.${r.transfer.status}`) })}`);
      setVersion((n) => n + 1); // fresh forms for the next step
      void reloadTasks();
      return true;
    } catch (err) {
      setActionError(err);
      return false;
    }
  };

  if (loadError && !tr) return <ErrorBox error={loadError} onRetry={() => void load()} />;
  if (!tr || !actions || !session) return <Spinner />;

  return (
    <article data-testid="transfer" data-status={tr.status}>
      <div class="title-line">
        <h1>{tr.externalRef}</h1>
        <Badge tone={STATUS_TONE[tr.status]}>
          <span data-testid="status">{t(`status.${tr.status}`)}</span>
        </Badge>
        {tr.overdue && <Badge tone="red">{t('inbox.overdue')}</Badge>}
        {tr.escalationLevel > 0 && <Badge tone="amber">{t('inbox.escalated', { level: tr.escalationLevel })}</Badge>}
      </div>
      <p class="names">
        <strong>{tr.senderEntity.name}</strong> ({tr.senderEntity.code}) → <strong>{tr.receiverEntity.name}</strong> ({tr.receiverEntity.code})
      </p>
      <p>
        <Money amount={tr.amount} currency={tr.currency} /> · {t(`type.${tr.type}`)} · {t('field.period')} {tr.period}
        {tr.status === 'PENDING' && (
          <>
            {' · '}
            <Countdown dueAt={tr.dueAt} />
          </>
        )}
      </p>
      {tr.memo && <p class="muted">{tr.memo}</p>}
      <p>
        <a href={tr.temporalUrl} target="_blank" rel="noopener noreferrer" data-testid="temporal-link">
          {t('detail.temporal')}
        </a>
      </p>
      {message && (
        <div class="ok-box" role="status" data-testid="action-done">
          {message}
        </div>
      )}
      {loadError ? <ErrorBox error={loadError} /> : null}
      <div class="grid2">
        <section class="card">
          <h2>{t('detail.documents')}</h2>
          <Compare tr={tr} />
          {tr.dispute && (
            <p>
              <strong>{t('detail.dispute')}</strong>: {tr.dispute.reason ? t(`dispute.${tr.dispute.reason}`) : ''} — {tr.dispute.text}
            </p>
          )}
          {tr.rejectReason && (
            <p>
              <strong>{t('detail.rejectReason')}</strong>: {tr.rejectReason}
            </p>
          )}
          {tr.resolution?.rationale && (
            <p>
              <strong>{t('detail.rationale')}</strong>: {tr.resolution.rationale}
            </p>
          )}
        </section>
        <div>
          <ActionPanel key={version} tr={tr} actions={actions} run={run} error={actionError} />
          {transferPanels.map((Panel, i) => (
            <Panel key={`${i}-${version}`} transfer={tr} actions={actions} onDone={(d, m) => (setTr(d), setMessage(m), setVersion((n) => n + 1), void load(), void reloadTasks())} />
          ))}
          <Routing tr={tr} />
        </div>
      </div>
      <section class="card" data-testid="comments">
        <h2>{t('detail.comments')}</h2>
        {tr.comments.length === 0 && <p class="muted">{t('detail.noComments')}</p>}
        <ul>
          {tr.comments.map((c) => (
            <li key={c.id}>
              <strong>{c.author.name}</strong> <span class="muted">{formatDateTime(c.createdAt)}</span>
              <div>{c.text}</div>
            </li>
          ))}
        </ul>
        {actions.comment && <CommentForm tr={tr} onAdded={() => void load()} />}
      </section>
      <Timeline tr={tr} />
    </article>
  );
}
