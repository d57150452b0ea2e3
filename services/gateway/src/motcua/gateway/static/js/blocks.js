// Pieces that many pages share: the page frame, notices, status badges, a sign-in guard.
import { NetworkError } from './api.js';
import { fill, h } from './dom.js';
import { formatDate, statusText, t } from './i18n.js';
import { navigate, setTitle } from './router.js';
import { hasRole, session } from './session.js';

/** Fill <main> with a page: its h1 (also the document title) and its content. */
export function page(ctx, title, ...content) {
  setTitle(title);
  fill(ctx.main, h('h1', { tabindex: '-1' }, title), content);
}

/** kind: info | success | warning | error. Errors are alerts; the rest are polite statuses. */
export function notice(kind, ...content) {
  const role = kind === 'error' ? 'alert' : 'status';
  return h('div', { class: `notice notice-${kind}`, role }, content);
}

export function statusBadge(status) {
  return h('span', { class: `badge status-${status}`, 'data-status': status }, statusText(status));
}


/** Past its due date and not finished, by the service's count of working days (Vietnam's calendar). */
export function isOverdue(item) {
  if (typeof item.overdue === 'boolean') return item.overdue; // the API's flag: late, with no apology for it
  return typeof item.working_days_left === 'number' && item.working_days_left < 0;
}

/** The time left as words and a colour: paused while a supplement is awaited, then days left, due today, late. */
export function countdown(item) {
  if (item.paused) return h('span', { class: 'countdown countdown-paused' }, t('due.paused'));
  const left = item.working_days_left;
  if (typeof left !== 'number') return null;
  const tone = left < 0 ? 'late' : left <= 1 ? 'soon' : 'ok';
  const text = left < 0 ? t('due.late', { days: -left }) : left === 0 ? t('due.today') : t('due.left', { days: left });
  return h('span', { class: `countdown countdown-${tone}`, 'data-days-left': String(left) }, text);
}

export function dueText(item) {
  if (!item.due_date) return '—';
  const left = countdown(item);
  return left ? [formatDate(item.due_date), ' ', left] : formatDate(item.due_date);
}

/** Send a visitor who is not signed in (or lacks the role) to the sign-in page, then back here. */
export function requireRole(ctx, role) {
  if (session() && hasRole(role)) return true;
  const next = window.location.pathname + window.location.search;
  if (session()) {
    page(ctx, t('guard.wrong_role_title'), notice('warning', t('guard.wrong_role')));
    return false;
  }
  navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
  return false;
}

/** A sentence for an error that is not about one field. */
export function failure(error) {
  if (error instanceof NetworkError) return t('error.network');
  if (error?.status === 429) {
    const wait = error.retryAfter;
    return wait ? t('error.too_many_wait', { seconds: wait }) : t('error.too_many');
  }
  if (error?.status === 404) return t('error.not_found');
  if (error?.status === 503 && error.retryAfter) return t('error.busy'); // still busy after the waiting room
  if (error?.status >= 500) return t('error.server');
  return error?.problem?.detail || t('error.generic');
}

/** A definition list from [[term, description], …], skipping empty descriptions. */
export function facts(rows, className = 'facts') {
  return h('dl', { class: className }, rows.filter(([, d]) => d !== null && d !== undefined && d !== '')
    .map(([term, description]) => h('div', {}, h('dt', {}, term), h('dd', {}, description))));
}

export function backLink(href, label) {
  return h('p', { class: 'back' }, h('a', { href }, `← ${label}`));
}

/** A button that shows it is busy and cannot be pressed twice while its work runs. */
export async function busy(button, work) {
  if (button.getAttribute('aria-disabled') === 'true') return undefined;
  button.setAttribute('aria-disabled', 'true');
  button.classList.add('is-busy');
  try {
    return await work();
  } finally {
    button.removeAttribute('aria-disabled');
    button.classList.remove('is-busy');
  }
}

/** A confirmation before something is sent: a modal dialog in the page (focus moves to "confirm", Escape or
 * "Go back" closes it and focus returns to the button that opened it). `ask(nodes, then)` shows `nodes` and
 * runs `then` only on "confirm". The ids start with `prefix` (`{prefix}-confirm` is the dialog). */
export function confirmDialog(prefix, title, yesLabel, backLabel) {
  const text = h('div', { id: `${prefix}-confirm-text`, class: 'stack' });
  const yes = h('button', { type: 'button', class: 'button', id: `confirm-${prefix}` }, yesLabel);
  const no = h('button', { type: 'button', class: 'button button-secondary', id: `cancel-${prefix}` }, backLabel);
  const element = h('dialog', { class: 'confirm panel', id: `${prefix}-confirm`, 'aria-labelledby': `${prefix}-confirm-title`,
    'aria-describedby': `${prefix}-confirm-text` },
  h('h2', { id: `${prefix}-confirm-title` }, title), text, h('div', { class: 'button-row' }, yes, no));
  let proceed = null;
  no.addEventListener('click', () => element.close());
  yes.addEventListener('click', () => busy(yes, async () => {
    const go = proceed;
    proceed = null;
    if (go) await go();
    if (element.open) element.close();
  }));
  return {
    element,
    ask(nodes, then) {
      fill(text, nodes);
      proceed = then;
      element.showModal();
      yes.focus();
    },
  };
}
