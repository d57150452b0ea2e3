// The signed-in account, and turning on two-factor sign-in: the password again, a QR code made in the page,
// a code to confirm, then the recovery codes, shown this once; or a passkey of this device instead.
// The enrolment screen of officers and admins at their first sign-in (signin.js) reuses these steps.
import { api } from '../api.js';
import { busy, facts, failure, notice, page, requireRole } from '../blocks.js';
import { fill, h } from '../dom.js';
import { errorSummary, field, showProblems } from '../fields.js';
import { formatPhone, t } from '../i18n.js';
import { createPasskey, passkeysSupported } from '../passkeys.js';
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
      [t('register.phone'), formatPhone(me.phone)],
      [t('account.agency'), me.agency_code],
      [t('account.status'), t(`account.status_${me.status}`)],
    ]),
    twoFactor);
  drawTwoFactor(twoFactor, me);
}

function drawTwoFactor(section, me) {
  const heading = h('h2', { id: 'mfa-title' }, t('mfa.title'));
  if (me.mfa_enabled) {
    manageFactors(section, heading);
    return;
  }
  const summary = errorSummary();
  const password = field({ name: 'password', id: 'mfa-password', label: t('mfa.password'), hint: t('mfa.password_hint'),
    type: 'password', autocomplete: 'current-password', required: true, maxlength: '256' });
  const needPassword = () => {
    if (password.input.value) return true;
    showProblems(summary, { '/password': password }, { said: { '/password': t('problem.required') } },
      { '/password': t('mfa.password') });
    return false;
  };
  const refused = (error) => {
    password.input.value = '';
    if (error.status === 401) summary.show([{ text: t('mfa.password_wrong'), target: password.input.id }]);
    else if (error.status === 422) showProblems(summary, { '/password': password }, error, { '/password': t('mfa.password') });
    else summary.show([{ text: error.status === 409 ? t('mfa.on') : failure(error) }]);
  };
  // each way of adding a factor asks for the password first, and says so when it is wrong
  const withPassword = (button, work) => button?.addEventListener('click', () => busy(button, async () => {
    if (!needPassword()) return;
    try {
      await work({ body: { password: password.input.value } });
    } catch (error) {
      refused(error);
    }
  }));
  const start = h('button', { type: 'button', class: 'button', id: 'mfa-start' }, t('mfa.start'));
  withPassword(start, async (request) => enrol(section, heading, await startTotp(request)));
  const passkey = passkeysSupported()
    ? h('button', { type: 'button', class: 'button button-secondary', id: 'passkey-add' }, t('mfa.passkey'))
    : null;
  withPassword(passkey, async (request) => passkeyAdded(section, heading, await addPasskey(request)));
  fill(section, heading, h('p', {}, t('mfa.intro')), summary.element, password.element,
    h('div', { class: 'button-row' }, start, passkey));
}

/** Two-factor is on: the passkeys, each removable, new recovery codes, another passkey — each the password again. */
async function manageFactors(section, heading) {
  const { body: { items } } = await api('/v1/accounts/me/mfa/webauthn');
  const summary = errorSummary();
  const password = field({ name: 'password', id: 'mfa-password', label: t('mfa.password'), hint: t('mfa.manage_hint'),
    type: 'password', autocomplete: 'current-password', required: true, maxlength: '256' });
  const redraw = () => manageFactors(section, heading);
  const withPassword = (button, work) => button?.addEventListener('click', () => busy(button, async () => {
    if (!password.input.value) {
      showProblems(summary, { '/password': password }, { said: { '/password': t('problem.required') } },
        { '/password': t('mfa.password') });
      return;
    }
    try {
      await work({ body: { password: password.input.value } });
    } catch (error) {
      password.input.value = '';
      if (error.status === 401) summary.show([{ text: t('mfa.password_wrong'), target: password.input.id }]);
      else if (error.status === 409) summary.show([{ text: t('mfa.keep_one') }]);
      else summary.show([{ text: failure(error) }]);
    }
  }));
  const list = items.length
    ? h('ul', { class: 'documents', id: 'passkeys' }, items.map((p) => {
      const remove = h('button', { type: 'button', class: 'link-button' }, t('mfa.passkey_remove'));
      withPassword(remove, async (request) => {
        await api(`/v1/accounts/me/mfa/webauthn/${encodeURIComponent(p.id)}/remove`, { method: 'POST', ...request });
        await redraw();
      });
      return h('li', { 'data-passkey': p.id }, h('strong', {}, p.name || t('mfa.passkey_unnamed')), ' ', remove);
    }))
    : h('p', { class: 'hint' }, t('mfa.no_passkeys'));
  const codes = h('button', { type: 'button', class: 'button button-secondary', id: 'recovery-new' }, t('mfa.recovery_new'));
  withPassword(codes, async (request) => {
    const { body } = await api('/v1/accounts/me/mfa/recovery-codes', { method: 'POST', ...request });
    showRecoveryCodes(section, heading, body.recovery_codes, null, t('mfa.recovery_replaced'));
  });
  const another = passkeysSupported()
    ? h('button', { type: 'button', class: 'button button-secondary', id: 'passkey-add' }, t('mfa.passkey'))
    : null;
  withPassword(another, async (request) => passkeyAdded(section, heading, await addPasskey(request)));
  fill(section, heading, notice('success', t('mfa.on')),
    h('h3', {}, t('mfa.passkeys_title')), list,
    summary.element, password.element,
    h('div', { class: 'button-row' }, codes, another));
}

/** The first step of an authenticator app: its secret, and the QR encoder (fetched only by those who enrol). */
export async function startTotp(request = {}) {
  const { body } = await api('/v1/accounts/me/mfa/totp', { method: 'POST', ...request });
  const { qrSvg } = await import('../qr.js');
  return { ...body, qrSvg };
}

/** A passkey of this device for the account (`request`: the password again, or an enrolment token). */
export async function addPasskey(request = {}, verifyRequest = {}) {
  const { body: options } = await api('/v1/accounts/me/mfa/webauthn/register/options', { method: 'POST', ...request });
  const credential = await createPasskey(options.public_key);
  const { body } = await api('/v1/accounts/me/mfa/webauthn/register/verify', { method: 'POST', ...verifyRequest,
    body: { ceremony_id: options.ceremony_id, credential, name: navigator.platform || 'Passkey' } });
  return body;
}

export function passkeyAdded(section, heading, added, after = null) {
  if (added.recovery_codes) showRecoveryCodes(section, heading, added.recovery_codes, after, t('mfa.passkey_added'));
  else fill(section, heading, notice('success', t('mfa.passkey_added')), after);
}

function grouped(secret) {
  return secret.replace(/(.{4})/g, '$1 ').trim();
}

/** Scan, then confirm with a code; `request` adds to the confirmation (an enrolment token), `after` follows the codes. */
export function enrol(section, heading, { secret, otpauth_uri: uri, qrSvg }, request = {}, after = null) {
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
        const { body } = await api('/v1/accounts/me/mfa/totp/confirm', { method: 'POST', ...request, body: { code: value } });
        showRecoveryCodes(section, heading, body.recovery_codes, after);
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
        // on a phone the QR code is on the very screen that would have to scan it: open the app instead
        h('p', { class: 'otpauth-link' }, h('a', { href: uri, id: 'otpauth-link', class: 'button button-secondary' }, t('mfa.open_app'))),
        h('p', {}, t('mfa.manual'), ' ', h('code', { class: 'secret', id: 'mfa-secret', 'data-secret': secret }, grouped(secret)))),
      h('li', {}, t('mfa.step_code'))),
    form);
  code.input.focus();
}

function showRecoveryCodes(section, heading, codes, after = null, done = t('mfa.enabled')) {
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
  fill(section, heading, notice('success', done),
    h('h3', {}, t('mfa.recovery_title')),
    notice('warning', t('mfa.recovery_once')),
    list,
    h('div', { class: 'button-row no-print' }, copy,
      h('button', { type: 'button', class: 'button button-secondary', onclick: () => window.print() }, t('common.print'))),
    copied, after);
  heading.setAttribute('tabindex', '-1');
  heading.focus();
}
