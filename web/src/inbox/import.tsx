// Import a CSV (POST /api/transfers/import?async=true), follow its progress
// (GET /api/imports/:id) with a progress bar, then show the result of every line.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../core/api';
import { t } from '../core/i18n';
import { Link, type RouteProps } from '../core/router';
import { Badge, ErrorBox, Field } from '../core/ui';

interface LineResult {
  line: number;
  externalRef: string | null;
  status: 'created' | 'existed' | 'error';
  transferId?: string;
  errors?: Array<{ field: string; reason: string }>;
  warning?: string;
}
interface ImportDetail {
  importId: string;
  status: 'RUNNING' | 'DONE' | 'FAILED';
  total: number;
  processed: number;
  created: number;
  existed: number;
  failed: number;
  workflowsPending: number;
  message: string | null;
  results?: LineResult[] | null;
}

export function ImportPage(_: RouteProps) {
  const [csv, setCsv] = useState('');
  const [fileName, setFileName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [job, setJob] = useState<ImportDetail | null>(null);
  const [busy, setBusy] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);

  async function poll(id: string) {
    try {
      const d = await api<ImportDetail>('GET', `/api/imports/${id}`);
      setJob(d);
      if (d.status === 'RUNNING' || !d.results) timer.current = setTimeout(() => void poll(id), 500);
      else setBusy(false);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setJob(null);
    try {
      const started = await api<ImportDetail>('POST', '/api/transfers/import?async=true', csv, { headers: { 'content-type': 'text/csv' } });
      setJob(started);
      void poll(started.importId);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  async function template() {
    try {
      const text = await api<string>('GET', '/api/transfers/import/template', undefined, { headers: { accept: 'text/csv' } });
      setCsv(typeof text === 'string' ? text.replace(/^\uFEFF/, '') : '');
    } catch (err) {
      setError(err);
    }
  }

  const pct = job && job.total > 0 ? Math.round((job.processed / job.total) * 100) : 0;
  return (
    <section>
      <h1>{t('import.title')}</h1>
      <form class="card" onSubmit={submit} data-testid="form-import">
        <ErrorBox error={error} />
        <p class="muted">{t('import.help')}</p>
        <Field label={t('import.file')}>
          <input
            type="file"
            accept=".csv,text/csv"
            onChange={async (e) => {
              const f = e.currentTarget.files?.[0];
              if (!f) return;
              setFileName(f.name);
              setCsv((await f.text()).replace(/^\uFEFF/, ''));
            }}
          />
        </Field>
        <Field label={t('import.paste')} hint={fileName || undefined}>
          <textarea value={csv} onInput={(e) => setCsv(e.currentTarget.value)} rows={8} spellcheck={false} data-testid="import-csv" />
        </Field>
        <div class="actions-row">
          <button type="submit" disabled={busy || !csv.trim()}>
            {t('import.submit')}
          </button>
          <button type="button" class="secondary" onClick={() => void template()}>
            {t('import.template')}
          </button>
        </div>
      </form>
      {job && (
        <section class="card" data-testid="import-progress">
          <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
            <span style={{ width: `${pct}%` }} />
          </div>
          <p>
            {t('import.progress', { processed: job.processed, total: job.total })} · {t('import.created', { n: job.created })} · {t('import.existed', { n: job.existed })} ·{' '}
            {t('import.failed', { n: job.failed })}
          </p>
          {job.message && <p class="muted">{job.message}</p>}
          {job.results && (
            <div class="table-wrap">
              <table class="list" data-testid="import-results">
                <thead>
                  <tr>
                    <th>{t('import.line')}</th>
                    <th>{t('field.externalRef')}</th>
                    <th>{t('import.result')}</th>
                  </tr>
                </thead>
                <tbody>
                  {job.results.map((r) => (
                    <tr key={r.line} data-status={r.status}>
                      <td>{r.line}</td>
                      <td>{r.transferId ? <Link to={`/transfers/${r.transferId}`}>{r.externalRef}</Link> : (r.externalRef ?? '—')}</td>
                      <td>
                        <Badge tone={r.status === 'error' ? 'red' : r.status === 'created' ? 'green' : 'grey'}>{t(`import.status.${r.status}`)}</Badge>
                        {r.errors?.map((x, i) => (
                          <div key={i}>
                            <code>{x.field}</code>: {x.reason}
                          </div>
                        ))}
                        {r.warning && <div class="muted">{r.warning}</div>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}
    </section>
  );
}
