// Admins: a procedure of the catalogue through its life — draft → publish → retire. The draft is edited as
// its JSON (the whole content, as PUT /v1/procedures/{code}/draft takes it); the page checks that it is
// JSON and that the form schema is an object schema, lists the form's fields, and the catalogue checks
// the rest (422, shown beside the content with each pointer).
import { api } from '../api.js';
import { busy, facts, failure, notice, page, requireRole } from '../blocks.js';
import { fill, h } from '../dom.js';
import { formatDateTime, pick, t } from '../i18n.js';
import { navigate } from '../router.js';

const CODE = /^[A-Z0-9][A-Z0-9-]{1,39}$/;
const VERSION_ONLY = ['code', 'version', 'published_at'];

/** The admin pages' two views, the current one marked. */
export function adminTabs(current) {
  return h('nav', { class: 'tabs', 'aria-label': t('admin.views') },
    [['/admin', 'officers', t('admin.title')], ['/admin/procedures', 'procedures', t('catalogue_admin.title')]].map(
      ([href, name, label]) => h('a', { href, class: 'tab', 'aria-current': name === current ? 'page' : null }, label)));
}

/** What the page can check before the catalogue does: JSON, an object, a form schema of type object. */
export function checkContent(text) {
  let content;
  try {
    content = JSON.parse(text);
  } catch (error) {
    return { problem: t('catalogue_admin.not_json', { detail: error.message }) };
  }
  if (!content || typeof content !== 'object' || Array.isArray(content)) return { problem: t('catalogue_admin.not_object') };
  const schema = content.form_schema;
  if (!schema || typeof schema !== 'object' || schema.type !== 'object' || typeof schema.properties !== 'object') {
    return { problem: t('catalogue_admin.bad_schema') };
  }
  return { content };
}

/** The form's fields as the schema gives them: name, type, required. */
function schemaFields(schema) {
  const required = new Set(schema.required || []);
  const rows = Object.entries(schema.properties || {}).map(([name, prop]) => h('tr', {},
    h('th', { scope: 'row' }, h('code', {}, name)),
    h('td', {}, prop.title || ''),
    h('td', {}, prop.format ? `${prop.type || ''} (${prop.format})` : String(prop.type || (prop.enum ? 'enum' : ''))),
    h('td', {}, required.has(name) ? t('catalogue_admin.yes') : t('catalogue_admin.no'))));
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('catalogue_admin.fields') },
    h('table', { class: 'queue', id: 'schema-fields' }, h('caption', {}, t('catalogue_admin.fields')),
      h('thead', {}, h('tr', {}, [t('catalogue_admin.field_name'), t('catalogue_admin.field_title'), t('catalogue_admin.field_type'),
        t('catalogue_admin.field_required')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows)));
}

async function openProcedure(code, result) {
  const { body: proc } = await api(`/v1/procedures/${encodeURIComponent(code)}/draft`);
  let draft = proc.draft;
  if (!draft && proc.current_version) {
    // no draft: start one from the version citizens see now
    const { body: version } = await api(`/v1/procedures/${encodeURIComponent(code)}/versions/${proc.current_version}`);
    draft = Object.fromEntries(Object.entries(version).filter(([k]) => !VERSION_ONLY.includes(k)));
  }
  const again = () => navigate(`/admin/procedures?code=${encodeURIComponent(code)}`, { replace: true });
  const done = (message) => { sessionStorage.setItem('motcua.admin-done', message); return again(); };
  const errorId = 'draft-content-error';
  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  const content = h('textarea', { id: 'draft-content', name: 'content', rows: '24', spellcheck: 'false', class: 'code',
    'aria-describedby': 'draft-content-hint' });
  content.value = JSON.stringify(draft || {}, null, 2);
  const fieldsArea = h('div', { id: 'schema-area' });
  const say = (problem) => {
    error.hidden = !problem;
    error.textContent = problem || '';
    if (problem) content.setAttribute('aria-invalid', 'true'); else content.removeAttribute('aria-invalid');
    content.setAttribute('aria-describedby', problem ? `draft-content-hint ${errorId}` : 'draft-content-hint');
  };
  const check = () => {
    const checked = checkContent(content.value);
    say(checked.problem);
    fill(fieldsArea, checked.content ? schemaFields(checked.content.form_schema) : null);
    return checked.content;
  };
  const checkButton = h('button', { type: 'button', class: 'button button-secondary', id: 'check-draft', onclick: () => {
    if (check()) fill(result, notice('success', t('catalogue_admin.checked')));
  } }, t('catalogue_admin.check'));
  const save = h('button', { type: 'submit', class: 'button', id: 'save-draft' }, t('catalogue_admin.save'));
  const form = h('form', { novalidate: true, class: 'stack panel', 'aria-labelledby': 'draft-title', onsubmit: (event) => {
    event.preventDefault();
    const body = check();
    if (!body) { content.focus(); return; }
    busy(save, async () => {
      try {
        await api(`/v1/procedures/${encodeURIComponent(code)}/draft`, { method: 'PUT', body });
        await done(t('catalogue_admin.saved'));
      } catch (problem) {
        if (problem.status === 422) {
          say(Object.entries(problem.fieldErrors || {}).map(([p, m]) => `${p}: ${m}`).join('; ') || failure(problem));
          content.focus();
        } else fill(result, notice('error', failure(problem)));
      }
    });
  } },
  h('h2', { id: 'draft-title' }, proc.draft ? t('catalogue_admin.draft') : t('catalogue_admin.new_draft')),
  h('div', { class: 'field' }, h('label', { for: 'draft-content' }, t('catalogue_admin.content')),
    h('p', { class: 'hint', id: 'draft-content-hint' }, t('catalogue_admin.content_hint')), error, content),
  h('div', { class: 'button-row' }, checkButton, save));
  const step = (id, label, path, message, className = 'button') => {
    const button = h('button', { type: 'button', class: className, id }, label);
    button.addEventListener('click', () => busy(button, async () => {
      try {
        await api(`/v1/procedures/${encodeURIComponent(code)}/${path}`, { method: 'POST' });
        await done(message);
      } catch (problem) {
        fill(result, notice('error', problem.status === 409 ? t('catalogue_admin.not_now') : failure(problem)));
      }
    }));
    return button;
  };
  const steps = h('div', { class: 'button-row' },
    proc.draft ? step('publish', t('catalogue_admin.publish'), 'publish', t('catalogue_admin.published')) : null,
    proc.status === 'published' ? step('retire', t('catalogue_admin.retire'), 'retire', t('catalogue_admin.retired'),
      'button button-danger') : null);
  check();
  return [
    h('h2', {}, `${proc.code}${draft ? ` — ${pick(draft, 'name')}` : ''}`),
    facts([
      [t('catalogue_admin.status'), h('span', { id: 'procedure-status' }, t(`catalogue_status.${proc.status}`))],
      [t('catalogue_admin.version'), proc.current_version ? String(proc.current_version) : '—'],
      [t('catalogue_admin.draft_saved'), proc.draft_saved_at ? formatDateTime(proc.draft_saved_at) : '—'],
      [t('catalogue_admin.retired_at'), proc.retired_at ? formatDateTime(proc.retired_at) : null],
    ]),
    steps,
    form,
    h('h2', {}, t('catalogue_admin.fields')),
    fieldsArea,
  ];
}

/** `/admin/procedures?code=`: open a procedure by its code, then its draft, publish and retire. */
export async function adminProcedures(ctx) {
  if (!requireRole(ctx, 'admin')) return;
  const wanted = (ctx.query.get('code') || '').trim().toUpperCase();
  const code = CODE.test(wanted) ? wanted : '';
  const result = h('div', { class: 'status-area', id: 'admin-result' });
  const done = sessionStorage.getItem('motcua.admin-done');
  if (done) {
    sessionStorage.removeItem('motcua.admin-done');
    fill(result, notice('success', done));
  }
  const codeInput = h('input', { id: 'procedure-code', name: 'code', value: code, maxlength: '40', autocomplete: 'off',
    spellcheck: 'false', 'aria-describedby': 'procedure-code-hint' });
  const opener = h('form', { class: 'filters', onsubmit: (event) => {
    event.preventDefault();
    const value = codeInput.value.trim().toUpperCase();
    navigate(`/admin/procedures${value ? `?code=${encodeURIComponent(value)}` : ''}`);
  } },
  h('div', { class: 'field' }, h('label', { for: 'procedure-code' }, t('catalogue_admin.code')),
    h('p', { class: 'hint', id: 'procedure-code-hint' }, t('catalogue_admin.code_hint')), codeInput),
  h('button', { type: 'submit', class: 'button button-secondary' }, t('catalogue_admin.open')));
  let shown = null;
  if (code) {
    try {
      shown = await openProcedure(code, result);
    } catch (problem) {
      shown = notice(problem.status === 404 ? 'warning' : 'error',
        problem.status === 404 ? t('catalogue_admin.unknown', { code }) : failure(problem));
    }
  } else if (wanted) {
    shown = notice('warning', t('catalogue_admin.bad_code'));
  }
  page(ctx, t('catalogue_admin.title'), adminTabs('procedures'), result, opener, shown);
}
