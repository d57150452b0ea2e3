// Confirming an account: the landing page of the emailed link, and the SMS code with a resend.
import { api } from '../api.js';
import { busy, failure, notice, page } from '../blocks.js';
import { fill, h } from '../dom.js';
import { errorSummary, field, showProblems } from '../fields.js';
import { t } from '../i18n.js';
import { PENDING } from './register.js';
import { applyingFor, intent, withNext } from '../intent.js';

function pending() {
  try {
    return JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  } catch {
    return null;
  }
}

function activated(next) {
  sessionStorage.removeItem(PENDING);
  return notice('success', h('p', {}, t('verify.active')),
    applyingFor(next) ? h('p', {}, t('verify.then_apply', { code: applyingFor(next) })) : null,
    h('p', {}, h('a', { href: withNext('/login', next), class: 'button', id: 'verified-sign-in' }, t('nav.sign_in'))));
}

/** A link that did not work (unknown, replaced, expired): a new one, sent here at once when this tab
 * registered the account, otherwise by signing in (which offers the resend once the password matched). */
function newLink(next) {
  const account = pending()?.id;
  const status = h('div', { class: 'status-area' });
  const send = account ? h('button', { type: 'button', class: 'button', id: 'new-link' }, t('verify.resend_email')) : null;
  send?.addEventListener('click', () => busy(send, async () => {
    try {
      await api('/v1/accounts/resend-verification', { method: 'POST', body: { account_id: account, channel: 'email' }, auth: false });
      fill(status, notice('success', t('verify.email_sent')));
    } catch (error) {
      fill(status, notice(error.status === 409 ? 'info' : 'error', error.status === 409 ? t('verify.email_already') : failure(error)));
    }
  }));
  return h('section', { 'aria-labelledby': 'new-link-title' },
    h('h2', { id: 'new-link-title' }, t('verify.new_link_title')),
    h('p', {}, t(account ? 'verify.new_link_here' : 'verify.new_link_sign_in')),
    h('div', { class: 'button-row' }, send,
      h('a', { href: withNext('/login', next), class: account ? 'button button-secondary' : 'button', id: 'new-link-sign-in' },
        t('verify.new_link_by_sign_in'))),
    status);
}

let emailOutcome = null; // kept so that a change of language shows the same answer again

/** /verify-email?token=…: the link in the email lands here and is confirmed at once. */
export async function verifyEmail(ctx) {
  const next = intent(ctx.query);
  const token = ctx.query.get('token') || '';
  if (token && token.length <= 256) {
    // the token leaves the address bar (and the history) once read
    window.history.replaceState({}, '', '/verify-email');
    try {
      emailOutcome = { result: (await api('/v1/accounts/verify-email', { method: 'POST', body: { token }, auth: false })).body };
    } catch (error) {
      emailOutcome = { error };
    }
  } else if (token) {
    emailOutcome = { error: { status: 422 } };
  }
  if (!emailOutcome) {
    page(ctx, t('verify.email_title'), notice('error', t('problem.link_invalid')), newLink(next));
    return;
  }
  const { result, error } = emailOutcome;
  if (error) {
    if (error.status === 409) {
      page(ctx, t('verify.email_title'), notice('info', t('verify.email_already')),
        h('p', {}, h('a', { href: withNext('/login', next) }, t('nav.sign_in'))));
    } else {
      page(ctx, t('verify.email_title'), notice('error', error.status === 422 ? t('problem.link_invalid') : failure(error)),
        newLink(next));
    }
    return;
  }
  if (result.status === 'active') {
    page(ctx, t('verify.email_title'), notice('success', t('verify.email_done')), activated(next));
    return;
  }
  page(ctx, t('verify.email_title'), notice('success', t('verify.email_done')),
    h('p', {}, t('verify.next_phone')),
    h('p', {}, h('a', { href: withNext(`/verify-phone?account=${encodeURIComponent(result.id)}`, next), class: 'button',
      id: 'enter-code' }, t('verify.enter_code'))));
}

/** /verify-phone?account=…: the 6-digit SMS code, with "send again" for either channel. */
export function verifyPhone(ctx) {
  const next = intent(ctx.query);
  const account = ctx.query.get('account') || pending()?.id || '';
  if (!account || account.length > 64) {
    page(ctx, t('verify.phone_title'), notice('warning', t('verify.no_account')),
      h('p', {}, h('a', { href: '/register' }, t('nav.register'))));
    return;
  }
  const summary = errorSummary();
  const code = field({ name: 'code', label: t('verify.code'), hint: t('verify.code_hint'), inputmode: 'numeric',
    autocomplete: 'one-time-code', maxlength: '6', required: true, class: 'input-short' });
  const status = h('div', { class: 'status-area' });
  const submit = h('button', { type: 'submit', class: 'button' }, t('verify.confirm'));
  const form = h('form', { novalidate: true, class: 'stack' }, summary.element, code.element, submit);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const value = code.input.value.replace(/\s/g, '');
      if (!/^\d{6}$/.test(value)) {
        showProblems(summary, { '/code': code }, { said: { '/code': t('problem.code_format') } }, { '/code': t('verify.code') });
        return;
      }
      try {
        const { body } = await api('/v1/accounts/verify-phone', { method: 'POST', body: { account_id: account, code: value }, auth: false });
        summary.hide();
        code.setError('');
        fill(status, notice('success', t('verify.phone_done')),
          body.status === 'active' ? activated(next) : notice('info', t('verify.next_email')));
        form.hidden = true;
      } catch (error) {
        if (error.status === 409) {
          fill(status, notice('info', t('verify.phone_already')));
          form.hidden = true;
        } else if (error.status === 422) {
          showProblems(summary, { '/code': code }, error, { '/code': t('verify.code') });
        } else {
          summary.show([{ text: error.status === 429 ? t('verify.too_many_codes') : failure(error) }]);
        }
      }
    });
  });

  const resendStatus = h('div', { class: 'status-area' });
  const resend = (channel) => async (event) => {
    await busy(event.currentTarget, async () => {
      try {
        await api('/v1/accounts/resend-verification', { method: 'POST', body: { account_id: account, channel }, auth: false });
        fill(resendStatus, notice('success', t(channel === 'sms' ? 'verify.sms_sent' : 'verify.email_sent')));
      } catch (error) {
        const text = error.status === 409 ? t(channel === 'sms' ? 'verify.phone_already' : 'verify.email_already') : failure(error);
        fill(resendStatus, notice(error.status === 409 ? 'info' : 'error', text));
      }
    });
  };

  const isNew = ctx.query.get('new') === '1';
  page(ctx, t('verify.phone_title'),
    isNew ? notice('success', t('verify.registered')) : null,
    h('p', { class: 'lead' }, t('verify.phone_intro')),
    form, status,
    h('h2', {}, t('verify.resend_title')),
    h('p', {}, t('verify.resend_intro')),
    h('div', { class: 'button-row' },
      h('button', { type: 'button', class: 'button button-secondary', onclick: resend('sms') }, t('verify.resend_sms')),
      h('button', { type: 'button', class: 'button button-secondary', onclick: resend('email') }, t('verify.resend_email'))),
    resendStatus);
}
