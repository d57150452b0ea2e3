// Officers: the agency's inbox (earliest due first, overdue marked in words) and a dossier with
// the actions its status allows (the API says which, from the state machine), each with a comment
// the applicant reads.
import { api, fetchBlob } from '../api.js';
import { applicantSection } from '../applicant.js';
import { backLink, busy, confirmDialog, dueText, facts, failure, isOverdue, notice, page, requireRole, statusBadge } from '../blocks.js';
import { fill, h } from '../dom.js';
import { errorSummary, radios, showProblems } from '../fields.js';
import { formatDate, formatDateTime, formatSize, pick, statusText, t } from '../i18n.js';
import { navigate } from '../router.js';
import { loadDossier } from './apply.js';
import { agencyList, agencyName } from './catalogue.js';
import { answersOf, slipsOf, timeline } from './dossiers.js';
import { resultOf, revokeForm } from './results.js';
import { paymentBadge } from './payment.js';

const DUE = ['overdue', '0', '3'];
const QUEUE = ['submitted', 'processing', 'supplement_requested', 'approved', 'completed', 'rejected', 'withdrawn'];

const ASSIGNEE = ['mine', 'none'];

/** Who I am at the desk: my account id and agency (for "assigned to me" and "take it"). */
async function me() {
  return (await api('/v1/accounts/me').catch(() => ({ body: {} }))).body;
}

/** The two views of the desk, the current one marked. */
function deskTabs(current) {
  return h('nav', { class: 'tabs', 'aria-label': t('officer.views') },
    [['/officer/inbox', 'inbox', t('officer.my_inbox')], ['/officer', 'queue', t('officer.title')]].map(([href, name, label]) =>
      h('a', { href, class: 'tab', 'aria-current': name === current ? 'page' : null }, label)));
}

function queueTable(items, caption) {
  const rows = items.map((a) => {
    const late = isOverdue(a);
    return h('tr', { class: late ? 'overdue' : null, 'data-application': a.id },
      h('th', { scope: 'row' }, h('a', { href: `/officer/applications/${encodeURIComponent(a.id)}` }, a.tracking_code || a.id)),
      h('td', { class: 'applicant' }, a.applicant
        ? [a.applicant.full_name, a.applicant.organisation_name ? h('span', { class: 'hint' }, ` (${a.applicant.organisation_name})`) : null]
        : '—'),
      h('td', {}, pick({ name: a.procedure_name, name_en: a.procedure_name_en }, 'name')),
      h('td', {}, statusBadge(a.status), paymentBadge(a)),
      h('td', { class: 'assignee' }, a.assignee ? a.assignee.full_name : t('officer.unassigned')),
      h('td', {}, a.submitted_at ? formatDateTime(a.submitted_at) : '—'),
      h('td', {}, dueText(a), late ? [' ', h('span', { class: 'badge badge-overdue' }, t('officer.overdue'))] : null));
  });
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', { class: 'queue' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, [t('receipt.tracking_code'), t('applicant.column'), t('receipt.procedure'), t('officer.status'), t('officer.assignee'),
        t('receipt.submitted_at'), t('receipt.due_date')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows)));
}

/** The dossiers assigned to me, soonest due first. */
export async function myInbox(ctx) {
  if (!requireRole(ctx, 'officer')) return;
  const [{ body }, mine] = await Promise.all([api('/v1/agency/inbox?page_size=100'), me(), agencyList()]);
  page(ctx, t('officer.my_inbox'),
    mine.agency_code ? h('p', { class: 'lead' }, agencyName(mine.agency_code)) : null,
    deskTabs('inbox'),
    h('p', { role: 'status' }, t('officer.count', { count: body.total })),
    body.items.length ? queueTable(body.items, t('officer.inbox_caption')) : notice('info', t('officer.inbox_empty')));
}

/** The agency's queue, filtered by status, assignee, procedure and due date. */
export async function inbox(ctx) {
  if (!requireRole(ctx, 'officer')) return;
  // the desk opens on the dossiers still open; "all" shows the finished ones too
  const status = QUEUE.includes(ctx.query.get('status')) || ctx.query.get('status') === 'all' ? ctx.query.get('status') : '';
  const q = (ctx.query.get('q') || '').trim().slice(0, 100);
  const due = DUE.includes(ctx.query.get('due')) ? ctx.query.get('due') : '';
  const assignee = ASSIGNEE.includes(ctx.query.get('assignee')) ? ctx.query.get('assignee') : '';
  const procedureCode = /^[A-Z0-9][A-Z0-9-]{1,39}$/.test(ctx.query.get('procedure') || '') ? ctx.query.get('procedure') : '';
  const mine = await me();
  const query = new URLSearchParams({ page_size: '100' });
  if (!status) query.set('open', 'true');
  else if (status !== 'all') query.set('status', status);
  if (q) query.set('q', q);
  if (due === 'overdue') query.set('overdue', 'true');
  else if (due) query.set('due_within_days', due);
  if (assignee === 'mine' && mine.id) query.set('assignee', mine.id);
  else if (assignee === 'none') query.set('assignee', 'none');
  if (procedureCode) query.set('procedure', procedureCode);
  const procedures = mine.agency_code
    ? api(`/v1/procedures?agency=${encodeURIComponent(mine.agency_code)}&page_size=100`).then((r) => r.body.items).catch(() => [])
    : Promise.resolve([]);
  // a search that is neither a tracking code's beginning nor a name's is refused by the service (422): said beside the field
  const searched = api(`/v1/agency/applications?${query}`).then((r) => r.body, (error) => {
    if (error.status === 422 && q) return null;
    throw error;
  });
  const [body, offered] = await Promise.all([searched, procedures, agencyList()]);
  const select = (id, name, label, options, chosen, first = t('dossiers.all')) => h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('select', { id, name }, h('option', { value: '' }, first),
      options.map(([value, text]) => h('option', { value, selected: value === chosen }, text))));
  const searchError = body ? null : h('p', { class: 'field-error', id: 'queue-q-error' }, t('officer.search_invalid'));
  const search = h('div', { class: ['field', searchError ? 'has-error' : null] },
    h('label', { for: 'queue-q' }, t('officer.search')),
    h('p', { class: 'hint', id: 'queue-q-hint' }, t('officer.search_hint')), searchError,
    h('input', { id: 'queue-q', name: 'q', type: 'search', value: q, maxlength: '100', autocomplete: 'off',
      spellcheck: 'false', 'aria-invalid': searchError ? 'true' : null,
      'aria-describedby': searchError ? 'queue-q-hint queue-q-error' : 'queue-q-hint' }));
  const filter = h('form', { class: 'filters', onsubmit: (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const name of ['q', 'status', 'assignee', 'procedure', 'due']) {
      const value = event.target.elements[name].value.trim();
      if (value) chosen.set(name, value);
    }
    navigate(`/officer${chosen.size ? `?${chosen}` : ''}`);
  } },
  search,
  select('queue-status', 'status', t('dossiers.filter'), [['all', t('dossiers.all')], ...QUEUE.map((s) => [s, statusText(s)])],
    status, t('officer.open')),
  select('queue-assignee', 'assignee', t('officer.assignee'), ASSIGNEE.map((a) => [a, t(`officer.assignee_${a}`)]), assignee),
  select('queue-procedure', 'procedure', t('receipt.procedure'),
    offered.map((p) => [p.code, `${p.code} — ${pick(p, 'name')}`]), procedureCode),
  select('queue-due', 'due', t('officer.due_filter'), DUE.map((d) => [d, t(`officer.due_${d}`)]), due),
  h('button', { type: 'submit', class: 'button button-secondary' }, t('dossiers.apply_filter')));
  page(ctx, t('officer.title'),
    mine.agency_code ? h('p', { class: 'lead' }, agencyName(mine.agency_code)) : null,
    deskTabs('queue'),
    filter,
    h('p', { role: 'status' }, body ? t('officer.count', { count: body.total }) : t('officer.search_invalid')),
    !body ? null : body.items.length ? queueTable(body.items, t('officer.caption')) : notice('info', t('officer.empty')));
}

export async function agencyDossier(ctx) {
  if (!requireRole(ctx, 'officer')) return;
  const { id } = ctx.params;
  const [{ application, version }] = await Promise.all([loadDossier(id), agencyList()]);
  const slips = await slipsOf(application);
  const result = h('div', { class: 'status-area', id: 'action-result' });
  page(ctx, `${t('officer.dossier')} ${application.tracking_code || ''}`.trim(),
    backLink('/officer', t('officer.title')),
    h('p', { class: 'lead' }, pick({ name: application.procedure_name, name_en: application.procedure_name_en }, 'name')),
    h('p', {}, statusBadge(application.status), paymentBadge(application), isOverdue(application) ? [' ', h('span', { class: 'badge badge-overdue' }, t('officer.overdue'))] : null),
    facts([
      [t('receipt.submitted_at'), formatDateTime(application.submitted_at)],
      [t('receipt.due_date'), dueText(application)],
      [t('officer.supply_by'), application.supply_by ? formatDate(application.supply_by) : null],
      [t('officer.assignee'), application.assignee ? application.assignee.full_name : t('officer.unassigned')],
      [t('procedure.agency'), agencyName(application.agency_code)],
    ]),
    applicantSection(application.applicant, { id: 'applicant', note: t('applicant.filed_note') }),
    result,
    application.can_assign ? await assignForm(application, result) : null,
    actionForm(application, result),
    OPEN.has(application.status) ? apologyForm(application, result) : null,
    resultOf(application),
    revokeForm(application, () => navigate(`/officer/applications/${encodeURIComponent(application.id)}`, { replace: true })),
    h('h2', {}, t('slips.title')), slips,
    h('h2', {}, t('apply.form_title')),
    answersOf(version, application),
    h('h2', {}, t('procedure.documents')),
    documentsWithPreview(version, application),
    h('h2', {}, t('dossier.timeline')),
    timeline(application));
}

const OPEN = new Set(['submitted', 'processing', 'supplement_requested', 'approved']);

/** Assign the dossier: intake chooses a specialist of the agency; a specialist takes it for themself. */
async function assignForm(application, result) {
  const [mine, { body }] = await Promise.all([me(), api('/v1/agency/officers?role=specialist')]);
  const intake = (mine.agency_roles || []).includes('intake');
  const send = async (button, assigneeId) => busy(button, async () => {
    try {
      const { body: moved } = await api(`/v1/agency/applications/${encodeURIComponent(application.id)}/assign`, {
        method: 'POST', body: { assignee_id: assigneeId } });
      sessionStorage.setItem('motcua.officer-done', JSON.stringify({ id: application.id, status: moved.status,
        assigned: moved.assignee ? moved.assignee.full_name : '' }));
      await navigate(`/officer/applications/${encodeURIComponent(application.id)}`, { replace: true });
    } catch (error) {
      fill(result, notice('error', failure(error)));
    }
  });
  if (!intake) {
    if (application.assignee && application.assignee.id === mine.id) return null;
    const take = h('button', { type: 'button', class: 'button button-secondary', id: 'take-dossier',
      onclick: () => send(take, mine.id) }, t('officer.take'));
    return h('p', {}, take);
  }
  const specialists = body.items.filter((o) => !application.assignee || o.id !== application.assignee.id);
  if (!specialists.length) return h('p', { class: 'hint' }, t('officer.no_specialists'));
  const choice = h('select', { id: 'assignee', name: 'assignee_id' },
    specialists.map((o) => h('option', { value: o.id }, o.full_name)));
  const submit = h('button', { type: 'submit', class: 'button button-secondary', id: 'do-assign' },
    application.assignee ? t('officer.reassign') : t('officer.assign'));
  return h('form', { class: 'filters', onsubmit: (event) => { event.preventDefault(); send(submit, choice.value); } },
    h('div', { class: 'field' }, h('label', { for: 'assignee' }, t('officer.assign_to')), choice), submit);
}

/** An apology for a late answer: the reason the applicant reads and a later working day. */
function apologyForm(application, result) {
  const summary = errorSummary();
  const reason = h('textarea', { id: 'apology-reason', name: 'reason', rows: '3', maxlength: '2000' });
  const date = h('input', { id: 'apology-date', name: 'new_due_date', type: 'date', min: application.due_date || '' });
  const field = (input) => ({ input, setError: (message) => {
    if (message) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  } });
  const fields = { '/reason': field(reason), '/new_due_date': field(date) };
  const labels = { '/reason': t('apology.reason'), '/new_due_date': t('apology.date') };
  const submit = h('button', { type: 'submit', class: 'button button-secondary', id: 'do-apology' }, t('apology.do'));
  const form = h('form', { novalidate: true, class: 'stack', onsubmit: (event) => {
    event.preventDefault();
    busy(submit, async () => {
      try {
        const { body } = await api(`/v1/agency/applications/${encodeURIComponent(application.id)}/apology`, {
          method: 'POST', body: { reason: reason.value.trim(), new_due_date: date.value } });
        sessionStorage.setItem('motcua.officer-done', JSON.stringify({ id: application.id, status: body.status }));
        await navigate(`/officer/applications/${encodeURIComponent(application.id)}`, { replace: true });
      } catch (error) {
        if (error.status === 422) showProblems(summary, fields, error, labels);
        else fill(result, notice('error', failure(error)));
      }
    });
  } },
  summary.element,
  h('div', { class: 'field' }, h('label', { for: 'apology-reason' }, t('apology.reason')), reason),
  h('div', { class: 'field' }, h('label', { for: 'apology-date' }, t('apology.date')), date),
  submit);
  return h('details', { class: 'apology panel' }, h('summary', {}, t('apology.title')), form);
}

function actionForm(application, result) {
  // the outcome of the previous action, announced on the redrawn page
  const done = JSON.parse(sessionStorage.getItem('motcua.officer-done') || 'null');
  if (done && done.id === application.id) {
    sessionStorage.removeItem('motcua.officer-done');
    fill(result, notice('success', done.assigned ? t('officer.assigned', { name: done.assigned })
      : t('officer.done', { status: statusText(done.status) })));
  }
  const allowed = (application.actions || []).map((a) => a.action);
  const needsComment = new Set((application.actions || []).filter((a) => a.comment_required).map((a) => a.action));
  if (!allowed.length) return h('p', { class: 'hint' }, t('officer.no_actions'));
  const summary = errorSummary();
  // a specialist's proposal says which decision it advises; the choice shows only with `propose`
  const outcome = radios({ name: 'outcome', legend: t('officer.outcome'),
    options: ['approve', 'reject'].map((o) => ({ value: o, label: t(`outcome.${o}`) })) });
  // nothing chosen beforehand: the officer picks the action, then confirms it
  const choice = radios({ name: 'action', legend: t('officer.action'),
    options: allowed.map((a) => ({ value: a, label: t(`action.${a}`) })),
    onchange: () => { outcome.element.hidden = choice.value !== 'propose'; } });
  outcome.element.hidden = true;
  const commentId = 'action-comment';
  const commentError = h('p', { class: 'field-error', id: `${commentId}-error`, hidden: true });
  const comment = h('textarea', { id: commentId, name: 'comment', rows: '3', maxlength: '2000', 'aria-describedby': `${commentId}-hint` });
  const commentField = {
    input: comment,
    setError: (message) => {
      commentError.hidden = !message;
      commentError.textContent = message || '';
      if (message) comment.setAttribute('aria-invalid', 'true');
      else comment.removeAttribute('aria-invalid');
    },
  };
  const submit = h('button', { type: 'submit', class: 'button', id: 'do-action' }, t('officer.do'));
  // a supplement request lists every missing item at once (one per line): the slip numbers them
  const items = h('textarea', { id: 'action-items', name: 'items', rows: '3', 'aria-describedby': 'action-items-hint' });
  const itemsField = h('div', { class: 'field', hidden: true },
    h('label', { for: 'action-items' }, t('officer.items')),
    h('p', { class: 'hint', id: 'action-items-hint' }, t('officer.items_hint')), items);
  choice.element.addEventListener('change', () => { itemsField.hidden = choice.value !== 'request_supplement'; });
  const dialog = actionConfirmation();
  const form = h('form', { novalidate: true, class: 'stack panel', 'aria-labelledby': 'action-title' },
    h('h2', { id: 'action-title' }, t('officer.actions')),
    summary.element, choice.element, outcome.element, itemsField,
    h('div', { class: 'field' }, h('label', { for: commentId }, t('officer.comment')),
      h('p', { class: 'hint', id: `${commentId}-hint` }, t('officer.comment_hint')), commentError, comment),
    submit, dialog.element);
  const fields = { '/action': choice, '/comment': commentField, '/outcome': outcome };
  const labels = { '/action': t('officer.action'), '/comment': t('officer.comment'), '/outcome': t('officer.outcome') };
  const send = async () => {
    const action = choice.value;
    try {
      const { body } = await api(`/v1/agency/applications/${encodeURIComponent(application.id)}/actions`, {
        method: 'POST',
        body: { action, comment: comment.value.trim(), ...(action === 'propose' ? { outcome: outcome.value } : {}),
          ...(action === 'request_supplement' ? { items: items.value.split('\n').map((i) => i.trim()).filter(Boolean) } : {}) } });
      sessionStorage.setItem('motcua.officer-done', JSON.stringify({ id: application.id, status: body.status }));
      await navigate(`/officer/applications/${encodeURIComponent(application.id)}`, { replace: true });
    } catch (error) {
      if (error.status === 422) showProblems(summary, fields, error, labels);
      else summary.show([{ text: error.status === 409 ? t('officer.not_allowed') : failure(error) }]);
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const action = choice.value;
    const said = {};
    if (!action) said['/action'] = t('officer.action_required');
    if (action === 'propose' && !outcome.value) said['/outcome'] = t('officer.outcome_required');
    if (needsComment.has(action) && !comment.value.trim()) said['/comment'] = t('officer.comment_required');
    if (Object.keys(said).length) {
      showProblems(summary, fields, { said }, labels);
      return;
    }
    summary.hide();
    Object.values(fields).forEach((f) => f.setError(''));
    dialog.ask({
      action: t(`action.${action}`),
      code: application.tracking_code || application.id,
      outcome: action === 'propose' ? t(`outcome.${outcome.value}`) : '',
      comment: comment.value.trim(),
    }, send);
  });
  return form;
}

/** The confirmation before an action is sent: it names the action, the dossier, the proposal and the comment. */
function actionConfirmation() {
  const dialog = confirmDialog('action', t('officer.confirm_title'), t('officer.confirm_do'), t('officer.confirm_back'));
  return {
    element: dialog.element,
    ask({ action, code, outcome, comment }, then) {
      dialog.ask([h('p', {}, t('officer.confirm_text', { action, code })),
        outcome ? h('p', {}, `${t('officer.outcome')}: ${outcome}`) : null,
        comment ? h('p', {}, `${t('officer.comment')}: `, h('q', {}, comment)) : h('p', { class: 'hint' }, t('officer.confirm_no_comment'))],
      then);
    },
  };
}

const PREVIEWABLE = new Set(['application/pdf', 'image/png', 'image/jpeg']);

/** The dossier's documents: each downloadable, and a PDF or an image (types the service judged by content)
 * previewed in the page, fetched with the officer's token into a local object URL. */
function documentsWithPreview(version, application) {
  if (!application.documents.length) return h('p', {}, t('documents.none'));
  return h('ul', { class: 'documents', id: 'documents' }, application.documents.map((d) => {
    const spec = version.required_documents.find((s) => s.key === d.document_key);
    const status = h('span', { role: 'status' });
    const path = `/v1/applications/${encodeURIComponent(application.id)}/documents/${encodeURIComponent(d.id)}`;
    const shown = h('div', { class: 'preview' });
    const canPreview = PREVIEWABLE.has(d.content_type);
    const previewButton = canPreview ? h('button', { type: 'button', class: 'button button-secondary preview-toggle',
      'aria-expanded': 'false', 'aria-controls': `preview-${d.id}` }, t('documents.preview')) : null;
    shown.id = `preview-${d.id}`;
    let url = null;
    previewButton?.addEventListener('click', () => busy(previewButton, async () => {
      if (previewButton.getAttribute('aria-expanded') === 'true') {
        fill(shown);
        previewButton.setAttribute('aria-expanded', 'false');
        previewButton.textContent = t('documents.preview');
        return;
      }
      try {
        // the blob is typed by what the service sniffed, and only for these types: nothing else is framed
        const blob = await fetchBlob(`${path}?inline=1`);
        if (url) URL.revokeObjectURL(url);
        url = URL.createObjectURL(new Blob([blob], { type: d.content_type }));
        fill(shown, d.content_type === 'application/pdf'
          ? h('iframe', { src: url, title: t('documents.preview_of', { name: d.filename }), class: 'preview-frame' })
          : h('img', { src: url, alt: t('documents.preview_of', { name: d.filename }), class: 'preview-image' }));
        previewButton.setAttribute('aria-expanded', 'true');
        previewButton.textContent = t('documents.preview_close');
      } catch (error) {
        status.textContent = failure(error);
      }
    }));
    return h('li', { 'data-document': d.document_key }, h('strong', {}, spec ? pick(spec, 'name') : d.document_key), ': ',
      h('button', { type: 'button', class: 'link-button', onclick: () => fetchBlob(path).then((blob) => saveBlob(blob, d.filename))
        .catch((e) => { status.textContent = failure(e); }) }, d.filename), ` (${formatSize(d.size)}) `, previewButton, status, shown);
  }));
}

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: filename || 'document' });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
