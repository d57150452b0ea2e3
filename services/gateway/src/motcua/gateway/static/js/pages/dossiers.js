// A citizen's dossiers: the list with statuses, and one dossier with its timeline and what can
// be done next (continue, supplement and resubmit, withdraw).
import { api, download } from '../api.js';
import { resultOf } from './results.js';
import { backLink, busy, dueText, facts, failure, notice, page, requireRole, statusBadge } from '../blocks.js';
import { fill, h } from '../dom.js';
import { displayValue, fieldOrder, labelOf } from '../forms.js';
import { formatDate, formatDateTime, formatSize, pick, statusText, t } from '../i18n.js';
import { navigate } from '../router.js';
import { EDITABLE, lastComment, loadDossier } from './apply.js';
import { deliveryFacts } from '../guidance.js';
import { agencyList, agencyName } from './catalogue.js';
import { ratingSection } from './rating.js';
import { paymentSection } from './payment.js';

const STATUSES = ['draft', 'submitted', 'processing', 'supplement_requested', 'approved', 'completed', 'rejected', 'withdrawn'];

export async function myDossiers(ctx) {
  if (!requireRole(ctx, 'citizen')) return;
  const status = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : '';
  const [{ body }] = await Promise.all([api(`/v1/applications?page_size=100${status ? `&status=${status}` : ''}`), agencyList()]);
  const filter = h('form', { class: 'filters', onsubmit: (event) => {
    event.preventDefault();
    const value = event.target.elements.status.value;
    navigate(`/applications${value ? `?status=${value}` : ''}`);
  } },
  h('div', { class: 'field' }, h('label', { for: 'status-filter' }, t('dossiers.filter')),
    h('select', { id: 'status-filter', name: 'status' },
      h('option', { value: '' }, t('dossiers.all')),
      STATUSES.map((s) => h('option', { value: s, selected: s === status }, statusText(s))))),
  h('button', { type: 'submit', class: 'button button-secondary' }, t('dossiers.apply_filter')));
  const rows = body.items.map((a) => {
    const href = a.status === 'draft' ? `/applications/${encodeURIComponent(a.id)}/form` : `/applications/${encodeURIComponent(a.id)}`;
    return h('li', { class: 'card', 'data-application': a.id },
      h('h2', { class: 'card-title' }, h('a', { href }, pick({ name: a.procedure_name, name_en: a.procedure_name_en }, 'name'))),
      h('p', {}, statusBadge(a.status)),
      facts([
        [t('receipt.tracking_code'), a.tracking_code],
        [t('procedure.agency'), agencyName(a.agency_code)],
        [t('receipt.submitted_at'), a.submitted_at ? formatDateTime(a.submitted_at) : null],
        [t('receipt.due_date'), a.due_date ? dueText(a) : null],
        [t('dossiers.updated'), formatDateTime(a.updated_at)],
      ], 'facts compact'));
  });
  page(ctx, t('dossiers.title'), filter,
    rows.length ? h('ul', { class: 'cards' }, rows)
      : notice('info', t('dossiers.none'), ' ', h('a', { href: '/procedures' }, t('dossiers.find'))));
}

/** The history of a dossier as an ordered list, oldest first. */
export function timeline(application) {
  return h('ol', { class: 'timeline', id: 'timeline' }, (application.history || []).map((e) => h('li', { 'data-status': e.to },
    h('p', { class: 'timeline-status' }, statusBadge(e.to)),
    h('p', { class: 'meta' }, h('time', { datetime: e.at }, formatDateTime(e.at)), ' · ', t(`role.${e.by_role}`)),
    e.action === 'propose' ? h('p', { class: 'timeline-proposal' }, t(`proposal.${e.outcome}`)) : null,
    e.action === 'resubmit' ? h('p', { class: 'timeline-note' }, t('dossier.resubmitted_note')) : null,
    e.comment ? h('p', { class: 'timeline-comment' }, h('q', {}, e.comment)) : null)));
}

/** The dossier's slips (receipt, supplement request, refusal, apology), each opened as its PDF. */
export async function slipsOf(application) {
  if (!application.tracking_code) return null;
  const { body } = await api(`/v1/applications/${encodeURIComponent(application.id)}/slips`);
  if (!body.items.length) return h('p', { class: 'hint' }, t('slips.none'));
  return h('ul', { class: 'documents', id: 'slips' }, body.items.map((slip) => {
    const status = h('span', { role: 'status' });
    const file = `${slip.kind}-${application.tracking_code}.pdf`;
    return h('li', { 'data-kind': slip.kind },
      h('button', { type: 'button', class: 'link-button', onclick: () => download(
        `/v1/applications/${encodeURIComponent(application.id)}/slips/${encodeURIComponent(slip.id)}`, file,
      ).catch((e) => { status.textContent = failure(e); }) }, pick({ name: slip.title, name_en: slip.title_en }, 'name')),
      ' · ', h('time', { datetime: slip.issued_at }, formatDateTime(slip.issued_at)), ' ', status);
  }));
}

export function answersOf(version, application) {
  return facts(fieldOrder(version).map((name) => [labelOf(version, name), displayValue(version, name, application.data[name])]),
    'facts answers');
}

export function documentsOf(version, application) {
  if (!application.documents.length) return h('p', {}, t('documents.none'));
  return h('ul', { class: 'documents' }, application.documents.map((d) => {
    const spec = version.required_documents.find((s) => s.key === d.document_key);
    const status = h('span', { role: 'status' });
    return h('li', {}, h('strong', {}, spec ? pick(spec, 'name') : d.document_key), ': ',
      h('button', { type: 'button', class: 'link-button', onclick: () => download(
        `/v1/applications/${encodeURIComponent(application.id)}/documents/${encodeURIComponent(d.id)}`, d.filename,
      ).catch((e) => { status.textContent = failure(e); }) }, d.filename), ` (${formatSize(d.size)}) `, status);
  }));
}

export async function dossier(ctx) {
  if (!requireRole(ctx, 'citizen')) return;
  const { id } = ctx.params;
  const [{ application, version }] = await Promise.all([loadDossier(id), agencyList()]);
  const slips = await slipsOf(application);
  const rating = await ratingSection(application);
  const actions = h('div', { class: 'stack' });
  const status = h('div', { class: 'status-area' });
  const base = `/applications/${encodeURIComponent(id)}`;
  if (application.status === 'draft') {
    actions.append(h('p', {}, h('a', { href: `${base}/form`, class: 'button' }, t('dossier.continue'))));
  }
  if (application.status === 'supplement_requested') {
    const comment = lastComment(application);
    // every item asked for, at once, and the last day to supply them (the clock stands still meanwhile)
    const asked = [...(application.history || [])].reverse().find((e) => e.action === 'request_supplement');
    const items = asked && asked.items && asked.items.length > 1 ? h('ol', { class: 'supplement-items' }, asked.items.map((i) => h('li', {}, i))) : null;
    const supplyBy = application.supply_by ? h('p', { id: 'supply-by' }, t('dossier.supply_by', { date: formatDate(application.supply_by) })) : null;
    actions.append(notice('warning', h('p', {}, t('dossier.supplement_needed')), comment ? h('p', {}, h('q', {}, comment)) : null, items, supplyBy),
      h('p', {}, h('a', { href: `${base}/form`, class: 'button', id: 'supplement' }, t('dossier.supplement'))));
  }
  // just resubmitted: say what happened (sent back to the agency, not yet accepted or decided)
  if (sessionStorage.getItem('motcua.resubmitted') === id) {
    sessionStorage.removeItem('motcua.resubmitted');
    status.append(notice('success', h('p', { id: 'resubmitted' }, t('dossier.resubmitted'))));
  }
  if (application.status === 'submitted' || application.status === 'supplement_requested') {
    actions.append(withdrawForm(id, status));
  }
  page(ctx, pick({ name: application.procedure_name, name_en: application.procedure_name_en }, 'name'),
    backLink('/applications', t('dossiers.title')),
    h('p', {}, statusBadge(application.status)),
    facts([
      [t('receipt.tracking_code'), application.tracking_code],
      [t('procedure.agency'), agencyName(application.agency_code)],
      [t('receipt.submitted_at'), application.submitted_at ? formatDateTime(application.submitted_at) : null],
      [t('receipt.due_date'), application.due_date ? dueText(application) : null],
    ]),
    paymentSection(application, ctx.query.get('payment')),
    actions, status, rating,
    h('h2', {}, t('dossier.timeline')),
    application.history?.length ? timeline(application) : h('p', {}, t('dossier.no_history')),
    collectionOf(version, application),
    resultOf(application),
    slips ? [h('h2', {}, t('slips.title')), slips] : null,
    h('h2', {}, t('apply.form_title')),
    answersOf(version, application),
    h('h2', {}, t('procedure.documents')),
    documentsOf(version, application),
    EDITABLE.has(application.status) ? null : h('p', { class: 'hint' }, t('dossier.locked')));
}

/** A completed dossier: what the applicant receives, where and how to collect it (the procedure's result_delivery). */
function collectionOf(version, application) {
  if (application.status !== 'completed' || !version.result_delivery) return null;
  return h('section', { class: 'panel', id: 'collect-result', 'aria-labelledby': 'collect-title' },
    h('h2', { id: 'collect-title' }, t('dossier.collect_title')),
    h('p', {}, t('dossier.collect_intro')),
    deliveryFacts(version.result_delivery));
}

function withdrawForm(id, status) {
  const reason = h('textarea', { id: 'withdraw-reason', name: 'comment', rows: '3', maxlength: '2000' });
  const confirm = h('button', { type: 'submit', class: 'button button-danger' }, t('dossier.withdraw_confirm'));
  const details = h('details', { class: 'withdraw' },
    h('summary', {}, t('dossier.withdraw')),
    h('form', { novalidate: true, class: 'stack', onsubmit: (event) => {
      event.preventDefault();
      busy(confirm, async () => {
        try {
          await api(`/v1/applications/${encodeURIComponent(id)}/withdraw`, { method: 'POST', body: { comment: reason.value.trim() } });
          navigate(`/applications/${encodeURIComponent(id)}`, { replace: true });
        } catch (error) {
          fill(status, notice('error', error.status === 409 ? t('dossier.cannot_withdraw') : failure(error)));
        }
      });
    } },
    h('p', {}, t('dossier.withdraw_warning')),
    h('div', { class: 'field' }, h('label', { for: 'withdraw-reason' }, t('dossier.withdraw_reason')), reason),
    confirm));
  return details;
}
