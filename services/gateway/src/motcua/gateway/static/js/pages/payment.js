// The fee of a submitted dossier: its payment status, and "Pay now" to the provider's page (VNPAY). The
// provider sends the browser back to the dossier's page (?payment=returned); only its server-to-server notice
// settles the payment, so a return while still pending says so.
import { api } from '../api.js';
import { busy, failure, notice } from '../blocks.js';
import { fill, h } from '../dom.js';
import { formatMoney, t } from '../i18n.js';

const PAYABLE = new Set(['due', 'failed', 'pending']);
const CLOSED = new Set(['withdrawn', 'rejected']);

/** The section for `application`, or null when it owes no fee. `returned` is the ?payment= of the page. */
export function paymentSection(application, returned) {
  const state = application.payment_status;
  const atResult = application.fee_due === 'at_result';
  if (!application.fee_vnd || !state) return null;
  if (state === 'not_required') {
    // a fee paid at result: said before the result is issued, paid after
    if (!atResult || CLOSED.has(application.status)) return null;
    return h('section', { class: 'panel', id: 'payment', 'aria-labelledby': 'payment-title', 'data-payment-status': state, 'data-fee-due': 'at_result' },
      h('h2', { id: 'payment-title' }, t('payment.title')),
      h('p', {}, t('payment.amount', { amount: formatMoney(application.fee_vnd) })),
      h('p', { id: 'payment-status' }, t('payment.at_result')));
  }
  const status = h('div', { role: 'status' });
  const words = atResult && (state === 'due' || state === 'paid') ? `payment.status.${state}_at_result` : `payment.status.${state}`;
  const section = h('section', { class: 'panel', id: 'payment', 'aria-labelledby': 'payment-title', 'data-payment-status': state, 'data-fee-due': application.fee_due || 'at_submission' },
    h('h2', { id: 'payment-title' }, t('payment.title')),
    h('p', {}, t('payment.amount', { amount: formatMoney(application.fee_vnd) })),
    h('p', { id: 'payment-status' }, t(words)));
  if (returned === 'returned' && state === 'pending') section.append(notice('info', t('payment.returned_pending')));
  if (returned === 'invalid') section.append(notice('error', t('payment.returned_invalid')));
  if (PAYABLE.has(state) && !CLOSED.has(application.status)) {
    const pay = h('button', { type: 'button', class: 'button', id: 'pay-now' }, t('payment.pay_now'));
    pay.addEventListener('click', () => busy(pay, async () => {
      try {
        const { body } = await api(`/v1/applications/${encodeURIComponent(application.id)}/payment`, { method: 'POST' });
        window.location.assign(body.payment_url);
      } catch (error) {
        fill(status, notice('error', error.status === 409 ? t('payment.nothing_to_pay') : failure(error)));
      }
    }));
    section.append(h('p', { class: 'hint' }, t('payment.hint')), pay);
  }
  section.append(status);
  return section;
}

/** A short badge of the fee's state, for the officer's queue and dossier (null when no fee is owed). */
export function paymentBadge(application) {
  const state = application.payment_status;
  if (application.fee_vnd && state === 'not_required' && application.fee_due === 'at_result') {
    return [' ', h('span', { class: 'badge badge-payment-at-result', 'data-payment-status': state }, t('payment.badge.at_result'))];
  }
  if (!application.fee_vnd || !state || state === 'not_required') return null;
  return [' ', h('span', { class: `badge badge-payment-${state}`, 'data-payment-status': state }, t(`payment.badge.${state}`))];
}
