// Form state that survives errors: values stay as typed until the caller resets them.
import { useState } from 'preact/hooks';

export function useForm<T extends Record<string, string>>(initial: T) {
  const [values, setValues] = useState<T>(initial);
  const [touched, setTouched] = useState<Partial<Record<keyof T, boolean>>>({});
  /** props for an <input>/<select>/<textarea> bound to `name` */
  const bind = (name: keyof T & string) => ({
    name,
    value: values[name],
    onInput: (e: Event) => {
      const v = (e.currentTarget as HTMLInputElement).value;
      setValues((old) => ({ ...old, [name]: v }));
      setTouched((old) => ({ ...old, [name]: true }));
    },
  });
  return { values, setValues, touched, bind, reset: () => (setValues(initial), setTouched({})) };
}

/** Only the non-empty, trimmed fields (optional API fields must be absent, not ""). */
export function compact<T extends Record<string, string>>(values: T, keys: Array<keyof T>): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) {
    const v = values[k].trim();
    if (v) out[k] = v as T[keyof T];
  }
  return out;
}

/**
 * A form's submit handler: `busy` while `action` runs (no double sends), the error it threw
 * kept for an <ErrorBox> (cleared on the next try), and what was typed left alone.
 */
export function useSubmit(action: () => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function submit(e?: Event) {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, submit };
}
