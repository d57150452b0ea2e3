// Checking the answers, submitting, and the receipt (made to print well).
import { api } from '../api.js';
import { applicantSection } from '../applicant.js';
import { backLink, busy, facts, failure, notice, page, requireRole } from '../blocks.js';
import { h, randomKey } from '../dom.js';
import { errorSummary, withLabel } from '../fields.js';
import { displayValue, fieldOrder, labelOf, localProblems } from '../forms.js';
import { explain } from '../problems.js';
import { formatDate, formatDateTime, formatMoney, formatSize, pick, t } from '../i18n.js';
import { navigate } from '../router.js';
import { agencyList, agencyName } from './catalogue.js';
import { session } from '../session.js';
import { EDITABLE, loadDossier, rememberProblems } from './apply.js';

/** One Idempotency-Key per dossier and attempt, kept across a reload so a retry cannot submit twice. */
function submitKey(id) {
  const name = `motcua.submit-key.${id}`;
  let key = sessionStorage.getItem(name);
  if (!key) {
    key = randomKey();
    sessionStorage.setItem(name, key);
  }
  return key;
}

function missingDocuments(version, application) {
  const said = {};
  for (const spec of version.required_documents) {
    if (spec.required && !application.documents.some((d) => d.document_key === spec.key)) {
      said[`/documents/${spec.key}`] = t('documents.missing');
    }
  }
  return said;
}

export async function review(ctx) {
  if (!requireRole(ctx, 'citizen')) return;
  const { id } = ctx.params;
  const [{ application, version }, account] = await Promise.all([loadDossier(id),
    api('/v1/accounts/me').then((r) => r.body).catch(() => null)]);
  if (!EDITABLE.has(application.status)) {
    navigate(`/applications/${encodeURIComponent(id)}`, { replace: true });
    return;
  }
  const formLink = `/applications/${encodeURIComponent(id)}/form`;
  const summary = errorSummary();
  const labelFor = (pointer) => {
    const [, part, name] = pointer.split('/');
    if (part === 'data' && name) return labelOf(version, name);
    if (part === 'documents' && name) {
      const spec = version.required_documents.find((d) => d.key === name);
      return spec ? pick(spec, 'name') : name;
    }
    return '';
  };
  const fixLink = (pointer) => {
    const [, part, name] = pointer.split('/');
    return part === 'documents' ? `${formLink}#doc-${name}` : `${formLink}#field-${name}`;
  };
  const showList = (said, options) => {
    rememberProblems(id, said); // the form shows them beside the fields when the citizen goes back to it
    const entries = Object.entries(said).map(([pointer, text]) => h('a', { href: fixLink(pointer) },
      withLabel(labelFor(pointer), text)));
    summary.show(entries.map((link) => ({ text: link })), options);
  };
  const localCheck = () => ({ ...localProblems(version, application.data), ...missingDocuments(version, application) });

  const answers = fieldOrder(version).map((name) => [labelOf(version, name),
    displayValue(version, name, application.data[name]) || h('span', { class: 'hint' }, t('review.empty')),
  ]);
  const docs = version.required_documents.map((spec) => {
    const doc = application.documents.find((d) => d.document_key === spec.key);
    return [pick(spec, 'name'), doc ? `${doc.filename} (${formatSize(doc.size)})` : h('span', { class: 'hint' }, t('documents.none'))];
  });

  const submit = h('button', { type: 'button', class: 'button button-large', id: 'submit-application' },
    t(application.status === 'supplement_requested' ? 'review.resubmit' : 'review.submit'));
  submit.addEventListener('click', () => busy(submit, async () => {
    const local = localCheck();
    if (Object.keys(local).length) {
      showList(local);
      return;
    }
    try {
      if (application.status === 'supplement_requested') {
        await api(`/v1/applications/${encodeURIComponent(id)}/resubmit`, { method: 'POST', body: { comment: '' } });
        sessionStorage.setItem('motcua.resubmitted', id);
        navigate(`/applications/${encodeURIComponent(id)}`);
        return;
      }
      await api(`/v1/applications/${encodeURIComponent(id)}/submit`, { method: 'POST', headers: { 'Idempotency-Key': submitKey(id) } });
      navigate(`/applications/${encodeURIComponent(id)}/receipt`);
    } catch (error) {
      if (error.status === 422 && Object.keys(error.fieldErrors).length) {
        showList(Object.fromEntries(Object.entries(error.fieldErrors).map(([p, m]) => [p, explain(p, m)])));
      } else {
        summary.show([{ text: failure(error) }]);
      }
    }
  }));

  page(ctx, t('review.title'),
    backLink(formLink, t('review.back')),
    h('ol', { class: 'progress-steps', 'aria-label': t('apply.steps') },
      h('li', {}, t('apply.step_form')), h('li', { 'aria-current': 'step' }, t('apply.step_review')), h('li', {}, t('apply.step_submit'))),
    h('p', { class: 'lead' }, pick(version, 'name')),
    summary.element,
    // who files it: the account's verified details, copied into the dossier at submission (changed in the account)
    applicantSection(account, { id: 'review-applicant', note: t('applicant.review_note'),
      change: (name) => h('a', { href: '/account', class: 'change-link' }, t('applicant.change'),
        h('span', { class: 'visually-hidden' }, ` (${t(`applicant.field_${name}`)})`)) }),
    h('h2', {}, t('apply.form_title')),
    facts(answers, 'facts answers'),
    h('p', {}, h('a', { href: formLink }, t('review.change'))),
    h('h2', {}, t('procedure.documents')),
    facts(docs, 'facts answers'),
    h('h2', {}, t('review.declaration_title')),
    h('p', {}, t('review.declaration')),
    h('div', { class: 'button-row' }, submit));
  // reached with something still missing (an address typed, Back): said at once, as the form's check does
  const pending = localCheck();
  if (Object.keys(pending).length) showList(pending, { focus: false });
}

export async function receipt(ctx) {
  if (!requireRole(ctx, 'citizen')) return;
  const { id } = ctx.params;
  const [{ application, version }] = await Promise.all([loadDossier(id), agencyList()]);
  if (!application.tracking_code) {
    navigate(`/applications/${encodeURIComponent(id)}`, { replace: true });
    return;
  }
  sessionStorage.removeItem(`motcua.submit-key.${id}`);
  // the printed receipt stands alone: who applied, the address to look the dossier up, and a QR code of it
  const lookupUrl = `${window.location.origin}/lookup/${encodeURIComponent(application.tracking_code)}`;
  const [applicant, { qrSvg }] = await Promise.all([
    session()?.account?.full_name ? Promise.resolve(session().account) : api('/v1/accounts/me').then((r) => r.body).catch(() => null),
    import('../qr.js'),
  ]);
  page(ctx, t('receipt.title'),
    notice('success', t('receipt.done')),
    h('div', { class: 'receipt', id: 'receipt' },
      h('p', { class: 'receipt-label' }, t('receipt.tracking_code')),
      h('p', { class: 'tracking-code', id: 'tracking-code' }, application.tracking_code),
      facts([
        applicant?.full_name ? [t('receipt.applicant'), h('span', { id: 'receipt-applicant' }, applicant.full_name)] : null,
        [t('receipt.procedure'), `${pick(version, 'name')} (${application.procedure_code})`],
        [t('procedure.agency'), agencyName(application.agency_code)],
        [t('receipt.submitted_at'), formatDateTime(application.submitted_at)],
        [t('receipt.due_date'), h('strong', { id: 'due-date' }, formatDate(application.due_date))],
        [t('procedure.fee'), formatMoney(version.fee_vnd)],
        [t('receipt.portal'), h('span', { id: 'receipt-lookup-url', class: 'receipt-url' }, lookupUrl)],
      ].filter(Boolean)),
      h('div', { class: 'receipt-qr', id: 'receipt-qr' }, qrSvg(lookupUrl, t('receipt.qr_label')),
        h('p', { class: 'hint' }, t('receipt.qr_hint'))),
      h('p', {}, t('receipt.keep'))),
    h('div', { class: 'button-row no-print' },
      h('button', { type: 'button', class: 'button', onclick: () => window.print() }, t('receipt.print')),
      h('a', { href: `/applications/${encodeURIComponent(id)}`, class: 'button button-secondary' }, t('receipt.follow')),
      h('a', { href: `/lookup/${encodeURIComponent(application.tracking_code)}`, class: 'button button-secondary' }, t('receipt.lookup'))));
}
