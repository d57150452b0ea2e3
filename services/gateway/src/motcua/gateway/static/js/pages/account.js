// The signed-in account, and turning on two-factor sign-in: a QR code made in the page, a code
// to confirm, then the recovery codes, shown this once.
import { api } from '../api.js';
import { busy, facts, failure, notice, page, requireRole } from '../blocks.js';
import { fill, h } from '../dom.js';
import { errorSummary, field, showProblems } from '../fields.js';
import { t } from '../i18n.js';
import { rememberAccount, session } from '../session.js';

export default async function account(ctx) {
  if (!session()) return requireRole(ctx, 'citizen');
  const { body: me } = await api('/v1/accounts/me');
  rememberAccount(me);
  const twoFactor = h('section', { 'aria-labelledby': 'mfa-title', class: 'panel' });
  page(ctx, t('account.title'),
    facts([
      [t('register.full_name'), me.full_name],
      [t('register.account_type'), t(`account_type.${me.account_type}`)],
      [t('register.organisation_name'), me.organisation_name],
      [t('register.email'), me.email],
      [t('register.phone'), me.phone],
      [t('account.agency'), me.agency_code],
      [t('account.status'), t(`account.status_${me.status}`)],
    ]),
    twoFactor);
  drawTwoFactor(twoFactor, me);
}

function drawTwoFactor(section, me) {
  const heading = h('h2', { id: 'mfa-title' }, t('mfa.title'));
  if (me.mfa_enabled) {
    fill(section, heading, notice('success', t('mfa.on')));
    return;
  }
  const start = h('button', { type: 'button', class: 'button', id: 'mfa-start' }, t('mfa.start'));
  const status = h('div', { class: 'status-area' });
  start.addEventListener('click', () => busy(start, async () => {
    try {
      const { body } = await api('/v1/accounts/me/mfa/totp', { method: 'POST' });
      // the QR encoder (50 kB) is fetched only by those who turn two-factor on
      const { qrSvg } = await import('../qr.js');
      enrol(section, heading, body, qrSvg);
    } catch (error) {
      fill(status, notice(error.status === 409 ? 'info' : 'error', error.status === 409 ? t('mfa.on') : failure(error)));
    }
  }));
  fill(section, heading, h('p', {}, t('mfa.intro')), start, status);
}

function grouped(secret) {
  return secret.replace(/(.{4})/g, '$1 ').trim();
}

function enrol(section, heading, { secret, otpauth_uri: uri }, qrSvg) {
  const summary = errorSummary();
  const code = field({ name: 'code', label: t('mfa.code'), hint: t('mfa.code_hint'), inputmode: 'numeric',
    autocomplete: 'one-time-code', maxlength: '6', required: true, class: 'input-short' });
  const submit = h('button', { type: 'submit', class: 'button' }, t('mfa.confirm'));
  const form = h('form', { novalidate: true, class: 'stack' }, summary.element, code.element, submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const value = code.input.value.replace(/\s/g, '');
      if (!/^\d{6}$/.test(value)) {
        showProblems(summary, { '/code': code }, { said: { '/code': t('problem.code_format') } }, { '/code': t('mfa.code') });
        return;
      }
      try {
        const { body } = await api('/v1/accounts/me/mfa/totp/confirm', { method: 'POST', body: { code: value } });
        showRecoveryCodes(section, heading, body.recovery_codes);
      } catch (error) {
        if (error.status === 422) showProblems(summary, { '/code': code }, error, { '/code': t('mfa.code') });
        else summary.show([{ text: error.status === 409 ? t('mfa.start_again') : failure(error) }]);
      }
    });
  });
  fill(section, heading,
    h('ol', { class: 'steps' },
      h('li', {}, t('mfa.step_app')),
      h('li', {}, t('mfa.step_scan'), h('div', { class: 'qr-box' }, qrSvg(uri, t('mfa.qr_label'))),
        h('p', {}, t('mfa.manual'), ' ', h('code', { class: 'secret', id: 'mfa-secret', 'data-secret': secret }, grouped(secret)))),
      h('li', {}, t('mfa.step_code'))),
    form);
  code.input.focus();
}

function showRecoveryCodes(section, heading, codes) {
  const list = h('ol', { class: 'recovery-codes', id: 'recovery-codes' }, codes.map((c) => h('li', {}, h('code', {}, c))));
  const copied = h('p', { role: 'status', class: 'hint' });
  const copy = h('button', { type: 'button', class: 'button button-secondary', onclick: async () => {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      copied.textContent = t('mfa.copied');
    } catch {
      copied.textContent = t('mfa.copy_failed');
    }
  } }, t('mfa.copy'));
  fill(section, heading, notice('success', t('mfa.enabled')),
    h('h3', {}, t('mfa.recovery_title')),
    notice('warning', t('mfa.recovery_once')),
    list,
    h('div', { class: 'button-row no-print' }, copy,
      h('button', { type: 'button', class: 'button button-secondary', onclick: () => window.print() }, t('common.print'))),
    copied);
  heading.setAttribute('tabindex', '-1');
  heading.focus();
}
