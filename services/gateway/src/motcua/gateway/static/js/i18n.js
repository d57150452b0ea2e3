// Vietnamese first, English by a switch. The choice is a preference, not a secret, so it is kept
// in localStorage; <html lang> follows it so screen readers pronounce the page in its language.
import en from './lang/en.js';
import vi from './lang/vi.js';

const DICTIONARIES = { vi, en };
const KEY = 'motcua.locale';
const listeners = new Set();
let locale = pickInitial();

function pickInitial() {
  let saved;
  try {
    saved = localStorage.getItem(KEY);
  } catch {
    saved = null;
  }
  return saved === 'en' || saved === 'vi' ? saved : 'vi';
}

export function currentLocale() {
  return locale;
}

export function setLocale(next) {
  if (next !== 'vi' && next !== 'en') return;
  locale = next;
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // the choice then lasts for this page only
  }
  document.documentElement.lang = next;
  listeners.forEach((fn) => fn(next));
}

export function onLocaleChange(fn) {
  listeners.add(fn);
}

/** t('key', {name: 'x'}): the text in the current language, `{name}` filled in. */
export function t(key, params = {}) {
  return tIn(locale, key, params);
}

/** The same in a given language (the waiting room says it in both). */
export function tIn(language, key, params = {}) {
  // one of something: the key's `_one` form when the dictionary has it ("1 working day", not "1 working days")
  const one = (params.days ?? params.count) === 1 && `${key}_one` in (DICTIONARIES[language] || {}) ? `${key}_one` : key;
  const text = DICTIONARIES[language]?.[one] ?? DICTIONARIES.vi[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (params[name] ?? '').toString());
}

/** A Vietnamese phone as people write it: +84912345678 → 0912 345 678 (others unchanged). */
export function formatPhone(phone) {
  const found = /^\+84(\d{9})$/.exec(phone || '');
  if (!found) return phone || '';
  const national = `0${found[1]}`;
  return `${national.slice(0, 4)} ${national.slice(4, 7)} ${national.slice(7)}`;
}

export function has(key) {
  return key in DICTIONARIES[locale];
}

/** A catalogue field in the current language: pick(proc, 'name') is name_en in English when set. */
export function pick(item, field) {
  if (!item) return '';
  if (locale === 'en' && item[`${field}_en`]) return item[`${field}_en`];
  return item[field] ?? '';
}

const intlLocale = () => (locale === 'vi' ? 'vi-VN' : 'en-GB');

export function formatDate(value) {
  if (!value) return '';
  // a bare date (due dates) is a calendar day: show it as that day, whatever the time zone
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const date = day ? new Date(`${value}T00:00:00`) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(intlLocale(), { day: '2-digit', month: '2-digit', year: 'numeric' }).format(date);
}

export function formatDateTime(value) {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(intlLocale(), {
    day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit',
  }).format(date);
}

export function formatTime(date) {
  return new Intl.DateTimeFormat(intlLocale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(date);
}

export function formatMoney(vnd) {
  if (!vnd) return t('fee.free');
  return new Intl.NumberFormat(intlLocale(), { style: 'currency', currency: 'VND', maximumFractionDigits: 0 })
    .format(vnd);
}

export function formatSize(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

export function statusText(status) {
  return t(`status.${status}`);
}
