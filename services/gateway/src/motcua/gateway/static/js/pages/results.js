// Result documents (issue 20): the signed result on a dossier's page, and the public verification page
// that the QR code on the document opens (`/verify/{code}`): anyone can check a document without signing in.
import { api, download, upload } from '../api.js';
import { facts, failure, notice, page } from '../blocks.js';
import { fill, h } from '../dom.js';
import { formatDateTime, pick, t } from '../i18n.js';
import { navigate } from '../router.js';

/** The dossier's result: download it, see its code and whether it still stands (null before it is issued). */
export function resultOf(application) {
  const result = application.result;
  if (!result) return null;
  if (result.released === false && !result.verification_code) {
    // the applicant's view of a result awaiting its fee (paid at result): nothing of the document yet
    return h('section', { class: 'panel', id: 'result', 'data-result-status': 'awaiting_fee', 'aria-labelledby': 'result-title' },
      h('h2', { id: 'result-title' }, t('result.title')),
      facts([[t('result.issued_at'), formatDateTime(result.issued_at)]]),
      notice('info', h('p', { id: 'result-awaiting-fee' }, t('result.awaiting_fee'), ' ', h('a', { href: '#payment' }, t('payment.pay_now')))));
  }
  const status = h('span', { class: 'status-area' });
  const file = `ket-qua-${application.tracking_code || application.id}.pdf`;
  const revoked = result.status === 'revoked';
  return h('section', { class: 'panel', id: 'result', 'data-result-status': result.status, 'aria-labelledby': 'result-title' },
    h('h2', { id: 'result-title' }, t('result.title')),
    revoked ? notice('warning', t('result.revoked', { reason: result.revocation_reason || '' })) : null,
    result.released === false ? notice('info', h('p', { id: 'result-withheld' }, t('result.withheld_from_applicant'))) : null,
    facts([
      [t('result.issued_at'), formatDateTime(result.issued_at)],
      [t('result.code'), h('code', { id: 'result-code' }, result.verification_code)],
      [t('result.sha256'), h('code', { class: 'hash' }, result.sha256)],
    ]),
    h('p', { class: 'button-row' },
      h('button', { type: 'button', class: 'button', id: 'result-download', onclick: () => download(
        `/v1/applications/${encodeURIComponent(application.id)}/result`, file,
      ).catch((e) => { status.textContent = failure(e); }) }, t('result.download')),
      ' ', h('a', { href: `/verify/${encodeURIComponent(result.verification_code)}`, id: 'result-verify' }, t('result.verify_link')),
      ' ', status));
}

async function procedureName(code) {
  try {
    const { body } = await api(`/v1/procedures/${encodeURIComponent(code)}`, { auth: false });
    return `${pick(body, 'name')} (${code})`;
  } catch {
    return code;
  }
}

function compareForm(code, answer) {
  const input = h('input', { type: 'file', id: 'verify-file', name: 'file', accept: 'application/pdf' });
  return h('form', { class: 'stack', id: 'verify-compare', onsubmit: async (event) => {
    event.preventDefault();
    const chosen = input.files && input.files[0];
    if (!chosen) {
      fill(answer, notice('warning', t('check.choose_file')));
      return;
    }
    const form = new FormData();
    form.append('file', chosen);
    try {
      const body = await upload(`/v1/verify/${encodeURIComponent(code)}`, form);
      fill(answer, body.matches
        ? notice('success', h('span', { 'data-matches': 'true' }, t('check.matches')))
        : notice('error', h('span', { 'data-matches': 'false' }, t('check.differs'))));
    } catch (error) {
      fill(answer, notice('error', failure(error)));
    }
  } },
  h('label', { for: 'verify-file' }, t('check.compare_label')),
  h('p', { class: 'hint' }, t('check.compare_hint')),
  input,
  h('p', {}, h('button', { type: 'submit', class: 'button' }, t('check.compare'))));
}

export async function verify(ctx) {
  const code = (ctx.params.code || '').trim().slice(0, 40);
  const result = h('div', { id: 'verify-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'search-box', role: 'search', onsubmit: (event) => {
    event.preventDefault();
    const value = event.target.elements.code.value.trim();
    if (value) navigate(`/verify/${encodeURIComponent(value)}`);
  } },
  h('label', { for: 'verify-code' }, t('check.code')),
  h('p', { class: 'hint', id: 'verify-hint' }, t('check.hint')),
  h('div', { class: 'search-row' },
    h('input', { type: 'text', id: 'verify-code', name: 'code', value: code, maxlength: '40', autocomplete: 'off',
      spellcheck: 'false', 'aria-describedby': 'verify-hint' }),
    h('button', { type: 'submit', class: 'button' }, t('check.submit'))));
  page(ctx, t('check.title'), h('p', { class: 'lead' }, t('check.intro')), form, result);
  if (!code) return;
  try {
    const { body } = await api(`/v1/verify/${encodeURIComponent(code)}`, { auth: false });
    const revoked = body.status === 'revoked';
    const answer = h('div', { 'aria-live': 'polite' });
    fill(result, h('section', { class: 'panel', 'aria-labelledby': 'verify-found', 'data-verification': body.status },
      h('h2', { id: 'verify-found' }, revoked ? t('check.revoked_title') : t('check.valid_title')),
      revoked
        ? notice('error', t('check.revoked', { at: formatDateTime(body.revoked_at), reason: body.revocation_reason || '' }))
        : notice('success', t('check.valid')),
      facts([
        [t('check.status'), h('strong', { id: 'verify-status' }, t(`check.status_${body.status}`))],
        [t('check.agency'), body.agency_code],
        [t('check.procedure'), await procedureName(body.procedure_code)],
        [t('check.issued_at'), formatDateTime(body.issued_at)],
        [t('check.sha256'), h('code', { class: 'hash' }, body.sha256)],
      ]),
      compareForm(code, answer), answer));
  } catch (error) {
    fill(result, notice(error.status === 404 ? 'warning' : 'error', error.status === 404 ? t('check.not_found') : failure(error)));
  }
}

/** An approver revokes the dossier's valid result, with the reason the applicant and the verification read. */
export function revokeForm(application, onDone) {
  if (!application.result || application.result.status !== 'valid') return null;
  const reason = h('textarea', { id: 'revoke-reason', name: 'reason', rows: '3', maxlength: '2000' });
  const status = h('div', { class: 'status-area' });
  const submit = h('button', { type: 'submit', class: 'button button-danger', id: 'do-revoke' }, t('result.revoke_do'));
  const form = h('form', { class: 'stack', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    try {
      await api(`/v1/agency/applications/${encodeURIComponent(application.id)}/result/revoke`, {
        method: 'POST', body: { reason: reason.value.trim() } });
      await onDone();
    } catch (error) {
      fill(status, notice('error', failure(error)));
    }
  } },
  h('div', { class: 'field' }, h('label', { for: 'revoke-reason' }, t('result.revoke_reason')), reason),
  submit, status);
  return h('details', { class: 'revoke panel' }, h('summary', {}, t('result.revoke_title')), form);
}
