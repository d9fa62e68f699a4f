// Approval policies per receiving entity (GET /api/policies), edited by HQ one entity at a
// time: PUT /api/policies replaces the policies of the entities named in the body, so the
// editor sends every policy of the entity being edited. Running transfers keep the policy
// they started with. Levels are typed one per line: ACCOUNTANT, SUPERVISOR, or usernames
// separated by commas. Amount bounds stay decimal strings. A refusal keeps the draft.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { useSubmit } from '../core/form';
import { api, ApiError } from '../core/api';
import { t } from '../core/i18n';
import { isDecimal } from '../core/money';
import type { RouteProps } from '../core/router';
import { useSession } from '../core/session';
import { TRANSFER_TYPES } from '../core/types';
import { Badge, ErrorBox, Field, Money, Spinner } from '../core/ui';
import { ROUTING_MODES, type Policy, type PolicyLevel } from './types';

interface Draft {
  key: number;
  name: string;
  transferType: string;
  minAmount: string;
  maxAmount: string;
  mode: string;
  levels: string;
  priority: string;
  active: boolean;
}

let nextKey = 1;
const levelText = (l: PolicyLevel) => ('role' in l ? l.role : l.users.join(', '));
const toDraft = (p: Policy): Draft => ({
  key: nextKey++,
  name: p.name,
  transferType: p.transferType ?? '',
  minAmount: p.minAmount ?? '',
  maxAmount: p.maxAmount ?? '',
  mode: p.mode,
  levels: p.levels.map(levelText).join('\n'),
  priority: String(p.priority),
  active: p.active,
});
const emptyDraft = (): Draft => ({ key: nextKey++, name: '', transferType: '', minAmount: '', maxAmount: '', mode: 'SINGLE', levels: 'ACCOUNTANT', priority: '0', active: true });

function parseLevels(text: string): PolicyLevel[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const up = l.toUpperCase();
      if (up === 'ACCOUNTANT' || up === 'SUPERVISOR') return { role: up } as PolicyLevel;
      return { users: l.split(/[,，\s]+/).filter(Boolean) };
    });
}

function draftErrors(d: Draft): Partial<Record<keyof Draft, string>> {
  const e: Partial<Record<keyof Draft, string>> = {};
  if (!d.name.trim()) e.name = t('form.required');
  for (const f of ['minAmount', 'maxAmount'] as const) if (d[f].trim() && !isDecimal(d[f])) e[f] = t('form.decimal');
  if (!/^-?\d+$/.test(d.priority.trim())) e.priority = t('hq.pol.integer');
  const n = parseLevels(d.levels).length;
  if (n === 0) e.levels = t('form.required');
  else if (d.mode !== 'SEQUENTIAL' && n !== 1) e.levels = t('hq.pol.oneLevel');
  return e;
}

function PolicyView({ p }: { p: Policy }) {
  return (
    <li class="policy" data-testid="policy-row" data-policy-name={p.name}>
      <div class="period-head">
        <strong class="ent-title">{p.name}</strong>
        <Badge tone="blue">{t(`hq.pol.mode.${p.mode}`)}</Badge>
        {!p.active && <Badge>{t('hq.pol.inactive')}</Badge>}
        <span class="muted">{t('hq.pol.priorityN', { n: p.priority })}</span>
      </div>
      <p class="muted">
        {p.transferType ? t(`type.${p.transferType}`) : t('hq.pol.anyType')} ·{' '}
        {p.minAmount || p.maxAmount ? (
          <>
            {p.minAmount ? <Money amount={p.minAmount} /> : '0'} – {p.maxAmount ? <Money amount={p.maxAmount} /> : '∞'}
          </>
        ) : (
          t('hq.pol.anyAmount')
        )}
      </p>
      <ol class="levels">
        {p.levels.map((l, i) => (
          <li key={i}>{'role' in l ? t(`role.${l.role}`) : l.users.join(', ')}</li>
        ))}
      </ol>
    </li>
  );
}

function Editor({ entity, policies, onSaved, onCancel }: { entity: string; policies: Policy[]; onSaved: (msg: string) => void; onCancel: () => void }) {
  const [drafts, setDrafts] = useState<Draft[]>(() => (policies.length ? policies.map(toDraft) : [emptyDraft()]));
  const set = (key: number, patch: Partial<Draft>) => setDrafts((ds) => ds.map((d) => (d.key === key ? { ...d, ...patch } : d)));
  const errs = drafts.map(draftErrors);
  const valid = drafts.length > 0 && errs.every((e) => Object.keys(e).length === 0);

  const { busy, error, submit: save } = useSubmit(async () => {
    const body = drafts.map((d) => ({
      entity,
      name: d.name.trim(),
      transferType: d.transferType || null,
      minAmount: d.minAmount.trim() || null,
      maxAmount: d.maxAmount.trim() || null,
      mode: d.mode,
      levels: parseLevels(d.levels),
      priority: Number.parseInt(d.priority.trim(), 10),
      active: d.active,
    }));
    await api('PUT', '/api/policies', body);
    onSaved(t('hq.pol.saved', { entity, n: body.length }));
  });
  const server = (i: number, f: string) => (error instanceof ApiError ? error.fieldMessage(`${i}.${f}`) : undefined);
  const input = (d: Draft, f: 'name' | 'minAmount' | 'maxAmount' | 'priority') => ({
    name: f,
    value: d[f],
    onInput: (e: Event) => set(d.key, { [f]: (e.currentTarget as HTMLInputElement).value }),
  });

  return (
    <form onSubmit={save} data-testid="policy-editor" class="subform">
      <ErrorBox error={error} />
      {drafts.map((d, i) => (
        <fieldset key={d.key} class="policy-edit" data-testid="policy-draft">
          <legend>{t('hq.pol.number', { n: i + 1 })}</legend>
          <div class="form-grid">
            <Field label={t('hq.pol.name')} error={errs[i].name ?? server(i, 'name')}>
              <input {...input(d, 'name')} maxLength={200} required />
            </Field>
            <Field label={t('field.type')}>
              <select name="transferType" value={d.transferType} onChange={(e) => set(d.key, { transferType: e.currentTarget.value })}>
                <option value="">{t('hq.pol.anyType')}</option>
                {TRANSFER_TYPES.map((x) => (
                  <option key={x} value={x}>
                    {t(`type.${x}`)}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t('hq.pol.minAmount')} hint={t('hq.pol.minHint')} error={errs[i].minAmount ?? server(i, 'minAmount')}>
              <input inputMode="decimal" {...input(d, 'minAmount')} />
            </Field>
            <Field label={t('hq.pol.maxAmount')} hint={t('hq.pol.maxHint')} error={errs[i].maxAmount ?? server(i, 'maxAmount')}>
              <input inputMode="decimal" {...input(d, 'maxAmount')} />
            </Field>
            <Field label={t('hq.pol.mode')}>
              <select name="mode" value={d.mode} onChange={(e) => set(d.key, { mode: e.currentTarget.value })}>
                {ROUTING_MODES.map((m) => (
                  <option key={m} value={m}>
                    {t(`hq.pol.mode.${m}`)}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t('hq.pol.priority')} error={errs[i].priority ?? server(i, 'priority')}>
              <input inputMode="numeric" {...input(d, 'priority')} />
            </Field>
          </div>
          <Field label={t('hq.pol.levels')} hint={t('hq.pol.levelsHint')} error={errs[i].levels ?? server(i, 'levels') ?? (error instanceof ApiError ? error.fieldMessage('levels.users') : undefined)}>
            <textarea name="levels" value={d.levels} onInput={(e) => set(d.key, { levels: e.currentTarget.value })} />
          </Field>
          <div class="actions-row">
            <label class="check">
              <input type="checkbox" checked={d.active} onChange={(e) => set(d.key, { active: e.currentTarget.checked })} /> {t('hq.pol.active')}
            </label>
            <button type="button" class="secondary" disabled={drafts.length <= 1} onClick={() => setDrafts((ds) => ds.filter((x) => x.key !== d.key))}>
              {t('hq.pol.remove')}
            </button>
          </div>
        </fieldset>
      ))}
      <div class="actions-row">
        <button type="button" class="secondary" onClick={() => setDrafts((ds) => [...ds, emptyDraft()])} data-testid="policy-add">
          {t('hq.pol.add')}
        </button>
        <button type="submit" disabled={busy || !valid} data-testid="policy-save">
          {busy ? t('common.loading') : t('common.save')}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

export function PoliciesPage(_: RouteProps) {
  const { session } = useSession();
  const [policies, setPolicies] = useState<Policy[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setPolicies(await api<Policy[]>('GET', '/api/policies'));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => void load(), [load]);

  if (!policies || !session) return error ? <ErrorBox error={error} onRetry={() => void load()} /> : <Spinner />;
  const entities = session.config.entities;
  return (
    <section data-testid="policies-page">
      <h1>{t('hq.pol.title')}</h1>
      <p class="muted">{t('hq.pol.help')}</p>
      {message && (
        <div class="ok-box" role="status" data-testid="policy-done">
          {message}
        </div>
      )}
      <ErrorBox error={error} />
      <ul class="plain-list">
        {entities.map((e) => {
          const mine = policies.filter((p) => p.entity === e.code);
          return (
            <li key={e.code} class="card" data-testid="policy-entity" data-entity={e.code}>
              <div class="period-head">
                <strong class="ent-title" title={e.name}>
                  {e.code} · {e.name}
                </strong>
                {editing !== e.code && (
                  <button type="button" class="secondary" onClick={() => (setEditing(e.code), setMessage(null))} data-testid="policy-edit">
                    {t('hq.pol.edit')}
                  </button>
                )}
              </div>
              {editing === e.code ? (
                <Editor entity={e.code} policies={mine} onCancel={() => setEditing(null)} onSaved={(m) => (setMessage(m), setEditing(null), void load())} />
              ) : mine.length === 0 ? (
                <p class="muted">{t('hq.pol.none')}</p>
              ) : (
                <ul class="plain-list">
                  {mine.map((p) => (
                    <PolicyView key={p.id} p={p} />
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
