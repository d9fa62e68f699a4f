// Translations: t(key, params?) with {name} placeholders; 简体中文 by default, English on
// request, remembered in localStorage. Dictionaries live per area in web/src/i18n/*.ts
// and are listed in web/src/i18n/index.ts (add yours there).
import { useEffect, useState } from 'preact/hooks';
import { dictionaries } from '../i18n';

export type Lang = 'zh' | 'en';
const LANG_KEY = 'ic.lang';

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved === 'zh' || saved === 'en') return saved;
  } catch {
    /* private mode */
  }
  return 'zh';
}

let lang: Lang = initialLang();
const listeners = new Set<(l: Lang) => void>();

export function getLang(): Lang {
  return lang;
}

export function setLang(l: Lang): void {
  lang = l;
  try {
    localStorage.setItem(LANG_KEY, l);
  } catch {
    /* ignore */
  }
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  listeners.forEach((fn) => fn(l));
}

/** Re-renders the calling component when the language changes; returns the language. */
export function useLang(): Lang {
  const [l, set] = useState(lang);
  useEffect(() => {
    listeners.add(set);
    return () => void listeners.delete(set);
  }, []);
  return l;
}

/** The text of `key` in the current language (English, then the key itself, if missing). */
export function t(key: string, params?: Record<string, string | number>): string {
  const text = dictionaries[lang][key] ?? dictionaries.en[key] ?? key;
  return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m)) : text;
}

/** t() for an optional key with a fallback (e.g. an enum value the dictionary may not know). */
export function tOr(key: string, fallback: string, params?: Record<string, string | number>): string {
  return dictionaries[lang][key] ?? dictionaries.en[key] ? t(key, params) : fallback;
}

/** Date-time in the user's language and time zone. */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}
