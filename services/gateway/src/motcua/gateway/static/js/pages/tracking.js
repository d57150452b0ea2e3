// Following a dossier: the public lookup by tracking code, and the notifications inbox.
import { api } from '../api.js';
import { busy, facts, failure, notice, page, requireRole, statusBadge } from '../blocks.js';
import { fill, h } from '../dom.js';
import { formatDate, formatDateTime, t } from '../i18n.js';
import { refreshUnread } from '../layout.js';
import { navigate } from '../router.js';

export async function lookup(ctx) {
  const code = (ctx.params.code || '').trim().slice(0, 40);
  const result = h('div', { id: 'lookup-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'search-box', role: 'search', onsubmit: (event) => {
    event.preventDefault();
    const value = event.target.elements.code.value.trim();
    if (value) navigate(`/lookup/${encodeURIComponent(value)}`);
  } },
  h('label', { for: 'lookup-code' }, t('lookup.code')),
  h('p', { class: 'hint', id: 'lookup-hint' }, t('lookup.hint')),
  h('div', { class: 'search-row' },
    h('input', { type: 'text', id: 'lookup-code', name: 'code', value: code, maxlength: '40', autocomplete: 'off',
      spellcheck: 'false', 'aria-describedby': 'lookup-hint' }),
    h('button', { type: 'submit', class: 'button' }, t('lookup.submit'))));
  page(ctx, t('lookup.title'), h('p', { class: 'lead' }, t('lookup.intro')), form, result);
  if (!code) return;
  try {
    const { body } = await api(`/v1/lookup/${encodeURIComponent(code)}`, { auth: false });
    fill(result, h('section', { class: 'panel', 'aria-labelledby': 'lookup-found' },
      h('h2', { id: 'lookup-found' }, t('lookup.found', { code: body.tracking_code })),
      h('p', {}, statusBadge(body.status)),
      facts([
        [t('lookup.procedure'), body.procedure_code],
        [t('receipt.submitted_at'), formatDateTime(body.submitted_at)],
        [t('receipt.due_date'), formatDate(body.due_date)],
        [t('lookup.updated'), formatDateTime(body.updated_at)],
      ])));
  } catch (error) {
    fill(result, notice(error.status === 404 ? 'warning' : 'error', error.status === 404 ? t('lookup.not_found') : failure(error)));
  }
}

export async function notifications(ctx) {
  if (!requireRole(ctx, 'citizen')) return;
  const { body } = await api('/v1/notifications?page_size=50');
  let unread = body.unread;
  const count = h('p', { role: 'status', id: 'inbox-count' }, t('inbox.count', { total: body.total, unread }));
  const items = body.items.map((n) => {
    const mark = n.read ? null : h('button', { type: 'button', class: 'link-button mark-read', onclick: (event) => busy(event.currentTarget, async () => {
      try {
        await api(`/v1/notifications/${encodeURIComponent(n.id)}/read`, { method: 'POST' });
        item.classList.remove('unread');
        item.querySelector('.unread-label')?.remove();
        unread = Math.max(0, unread - 1);
        count.textContent = t('inbox.count', { total: body.total, unread });
        // the button goes: focus moves to the next one still unread, else to this notice's title (never to <body>)
        const following = items.slice(items.indexOf(item) + 1).concat(items.slice(0, items.indexOf(item)))
          .map((other) => other.querySelector('.mark-read')).find(Boolean);
        const title = item.querySelector('.card-title');
        title.setAttribute('tabindex', '-1');
        mark.remove();
        (following || title).focus();
        await refreshUnread();
      } catch (error) {
        item.append(notice('error', failure(error)));
      }
    }) }, t('inbox.mark_read'));
    const item = h('li', { class: ['card', n.read ? '' : 'unread'], 'data-notification': n.id, 'data-status': n.status || '' },
      h('h2', { class: 'card-title' }, n.read ? null : h('span', { class: 'badge unread-label' }, t('inbox.new')), ' ', n.title),
      h('p', {}, n.body),
      h('p', { class: 'meta' }, h('time', { datetime: n.created_at }, formatDateTime(n.created_at)),
        n.status ? [' · ', statusBadge(n.status)] : null),
      h('p', { class: 'button-row' },
        n.application_id ? h('a', { href: `/applications/${encodeURIComponent(n.application_id)}` }, t('inbox.open')) : null, ' ', mark));
    return item;
  });
  page(ctx, t('inbox.title'),
    count,
    items.length ? h('ul', { class: 'cards', id: 'notifications' }, items) : notice('info', t('inbox.none')));
}
