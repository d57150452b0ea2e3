// Finding a procedure: the home page, the search with its filters, and a procedure's own page.
import { api } from '../api.js';
import { busy, facts, failure, notice, page } from '../blocks.js';
import { fill, h } from '../dom.js';
import { formatMoney, pick, t } from '../i18n.js';
import { navigate } from '../router.js';
import { hasRole, session } from '../session.js';
import { rememberIntent } from '../intent.js';
import { feesOf, legalTextsOf, resultDeliveryOf, stepsOf, templatesOf } from '../guidance.js';

let agencies = null;

/** The agencies, fetched once per page load. */
export async function agencyList() {
  if (!agencies) agencies = (await api('/v1/agencies', { auth: false })).body.items;
  return agencies;
}

export function agencyName(code) {
  const found = (agencies || []).find((a) => a.code === code);
  return found ? pick(found, 'name') : code;
}

const TYPES = ['individual', 'business', 'organisation'];

function searchBox(value = '', id = 'q') {
  return h('form', { role: 'search', class: 'search-box', action: '/procedures', method: 'get',
    onsubmit: (event) => {
      event.preventDefault();
      const q = event.target.elements.q.value.trim();
      navigate(`/procedures${q ? `?q=${encodeURIComponent(q)}` : ''}`);
    } },
  h('label', { for: id }, t('search.label')),
  h('div', { class: 'search-row' },
    h('input', { type: 'search', id, name: 'q', value, maxlength: '200', autocomplete: 'off' }),
    h('button', { type: 'submit', class: 'button' }, t('search.submit'))));
}

export function home(ctx) {
  const lookup = h('form', { class: 'search-box', onsubmit: (event) => {
    event.preventDefault();
    const code = event.target.elements.code.value.trim();
    if (code) navigate(`/lookup/${encodeURIComponent(code)}`);
  } },
  h('label', { for: 'home-lookup' }, t('lookup.code')),
  h('div', { class: 'search-row' },
    h('input', { type: 'text', id: 'home-lookup', name: 'code', maxlength: '40', autocomplete: 'off', spellcheck: 'false' }),
    h('button', { type: 'submit', class: 'button button-secondary' }, t('lookup.submit'))));
  page(ctx, t('home.title'),
    h('p', { class: 'lead' }, t('home.lead')),
    h('section', { class: 'panel', 'aria-labelledby': 'home-search' }, h('h2', { id: 'home-search' }, t('home.find')), searchBox('', 'home-q')),
    h('section', { class: 'panel', 'aria-labelledby': 'home-track' }, h('h2', { id: 'home-track' }, t('home.track')), lookup),
    h('section', { 'aria-labelledby': 'home-how' }, h('h2', { id: 'home-how' }, t('home.how')),
      h('ol', { class: 'steps' }, [1, 2, 3, 4, 5].map((n) => h('li', {}, t(`home.step${n}`))))),
    session() ? null : h('p', {}, h('a', { href: '/register', class: 'button' }, t('nav.register')), ' ',
      h('a', { href: '/login', class: 'button button-secondary' }, t('nav.sign_in'))));
}

function select(id, name, label, value, options) {
  return h('div', { class: 'field' }, h('label', { for: id }, label),
    h('select', { id, name }, options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label))));
}

export async function search(ctx) {
  const q = ctx.query.get('q') || '';
  const agency = ctx.query.get('agency') || '';
  const type = ctx.query.get('applicant_type') || '';
  const pageNo = Math.max(1, Math.min(10000, Number.parseInt(ctx.query.get('page') || '1', 10) || 1));
  const size = 10;
  await agencyList();
  const params = new URLSearchParams({ page: String(pageNo), page_size: String(size) });
  if (q) params.set('q', q.slice(0, 200));
  if (agency) params.set('agency', agency);
  if (TYPES.includes(type)) params.set('applicant_type', type);
  const filters = h('form', { class: 'filters', onsubmit: (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    const next = new URLSearchParams();
    for (const [k, v] of data) if (String(v).trim()) next.set(k, String(v).trim());
    navigate(`/procedures${next.toString() ? `?${next}` : ''}`);
  } },
  h('div', { class: 'field' }, h('label', { for: 'q' }, t('search.label')),
    h('input', { type: 'search', id: 'q', name: 'q', value: q, maxlength: '200', autocomplete: 'off' })),
  select('agency', 'agency', t('search.agency'), agency,
    [{ value: '', label: t('search.all_agencies') }, ...agencies.map((a) => ({ value: a.code, label: pick(a, 'name') }))]),
  select('applicant_type', 'applicant_type', t('search.applicant_type'), type,
    [{ value: '', label: t('search.all_types') }, ...TYPES.map((v) => ({ value: v, label: t(`account_type.${v}`) }))]),
  h('button', { type: 'submit', class: 'button' }, t('search.submit')));
  const results = h('div', { 'aria-live': 'polite', id: 'results' });
  page(ctx, t('search.title'), filters, results);
  let found;
  try {
    found = (await api(`/v1/procedures?${params}`, { auth: false })).body;
  } catch (error) {
    fill(results, notice('error', failure(error)));
    return;
  }
  const pages = Math.max(1, Math.ceil(found.total / size));
  const link = (n) => {
    const p = new URLSearchParams(params);
    p.delete('page_size');
    p.set('page', String(n));
    return `/procedures?${p}`;
  };
  fill(results,
    h('p', { class: 'result-count', role: 'status' }, t('search.count', { count: found.total })),
    h('ul', { class: 'cards' }, found.items.map((p) => h('li', { class: 'card' },
      h('h2', { class: 'card-title' }, h('a', { href: `/procedures/${encodeURIComponent(p.code)}` }, pick(p, 'name'))),
      h('p', { class: 'meta' }, `${p.code} · ${agencyName(p.agency_code)}`),
      h('p', { class: 'meta' }, t('procedure.days', { days: p.processing_days }), ' · ', formatMoney(p.fee_vnd), ' · ',
        h('span', { class: `badge level-${p.online_level}` }, t(`procedure.level_${p.online_level}`)))))),
    pages > 1 ? h('nav', { class: 'pagination', 'aria-label': t('search.pages') },
      pageNo > 1 ? h('a', { href: link(pageNo - 1), rel: 'prev' }, t('search.previous')) : null,
      h('span', {}, t('search.page_of', { page: pageNo, pages })),
      pageNo < pages ? h('a', { href: link(pageNo + 1), rel: 'next' }, t('search.next')) : null) : null);
}

export function typesText(types) {
  return types.map((v) => t(`account_type.${v}`)).join(', ');
}

export function acceptedText(doc) {
  const names = doc.accepted_types.map((m) => ({ 'application/pdf': 'PDF', 'image/jpeg': 'JPG', 'image/png': 'PNG' }[m]
    || m.split('/')[1].toUpperCase()));
  return t('documents.accepted', { types: [...new Set(names)].join(', '), size: doc.max_size_mb });
}

export async function procedure(ctx) {
  const code = ctx.params.code.toUpperCase();
  const [{ body: proc }] = await Promise.all([api(`/v1/procedures/${encodeURIComponent(code)}`, { auth: false }), agencyList()]);
  const status = h('div', { class: 'status-area' });
  const start = h('button', { type: 'button', class: 'button button-large', id: 'apply' }, t('procedure.apply'));
  // back from signing in (or registering) to apply: straight on to the form, this address replaced so that
  // Back does not open a second draft
  const resuming = ctx.query.get('apply') === '1';
  const begin = async () => {
    if (!session()) {
      const next = `/procedures/${encodeURIComponent(code)}?apply=1`;
      rememberIntent(next);
      navigate(`/login?next=${encodeURIComponent(next)}`);
      return;
    }
    if (!hasRole('citizen')) {
      fill(status, notice('warning', t('guard.wrong_role')));
      return;
    }
    try {
      const { body } = await api('/v1/applications', { method: 'POST', body: { procedure_code: code } });
      navigate(`/applications/${encodeURIComponent(body.id)}/form`, { replace: resuming });
    } catch (error) {
      fill(status, notice('error', error.status === 403 ? t('procedure.not_for_you') : failure(error)));
    }
  };
  start.addEventListener('click', () => busy(start, begin));
  page(ctx, pick(proc, 'name'),
    h('p', { class: 'meta' }, proc.code),
    h('p', { class: 'lead' }, pick(proc, 'description')),
    facts([
      [t('procedure.agency'), agencyName(proc.agency_code)],
      [t('procedure.who'), typesText(proc.applicant_types)],
      [t('procedure.time'), proc.same_day_cutoff
        ? t('procedure.same_day', { time: proc.same_day_cutoff, days: proc.processing_days })
        : t('procedure.days', { days: proc.processing_days })],
      [t('procedure.fee'), formatMoney(proc.fee_vnd)],
      [t('procedure.level'), t(`procedure.level_${proc.online_level}`)],
    ]),
    h('h2', {}, t('procedure.documents')),
    proc.required_documents.length ? h('ul', { class: 'documents' }, proc.required_documents.map((d) => h('li', {},
      h('strong', {}, pick(d, 'name')), ' ',
      h('span', { class: `badge ${d.required ? 'badge-required' : 'badge-optional'}` }, t(d.required ? 'documents.required' : 'documents.optional')),
      h('br'), h('span', { class: 'hint' }, acceptedText(d))))) : h('p', {}, t('procedure.no_documents')),
    stepsOf(proc),
    templatesOf(proc),
    resultDeliveryOf(proc),
    feesOf(proc),
    legalTextsOf(proc),
    h('div', { class: 'apply-box' }, start, status));
  if (resuming && session()) {
    if (hasRole('citizen')) await busy(start, begin);
    else window.history.replaceState({}, '', `/procedures/${encodeURIComponent(code)}`);
  }
}
