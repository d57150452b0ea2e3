// Signing in: the password, then (when two-factor is on) the authenticator's code or a passkey; or a passkey
// alone. Officers and admins without a second factor are taken to enrol one first (no tokens until then).
import { api } from '../api.js';
import { busy, failure, notice, page } from '../blocks.js';
import { fill, h } from '../dom.js';
import { errorSummary, field, showProblems } from '../fields.js';
import { t } from '../i18n.js';
import { getPasskey, passkeysSupported } from '../passkeys.js';
import { addPasskey, enrol, passkeyAdded, startTotp } from './account.js';
import { navigate } from '../router.js';
import { hasRole, rememberAccount, signIn } from '../session.js';
import { applyingFor, forgetIntent, intent, rememberIntent, safeNext, withNext } from '../intent.js';

async function finish(tokens, next) {
  signIn(tokens);
  try {
    rememberAccount((await api('/v1/accounts/me')).body);
  } catch {
    // the name in the header can wait
  }
  const home = hasRole('admin') ? '/admin' : hasRole('officer') ? '/officer' : '/applications';
  forgetIntent();
  navigate(safeNext(next) || home, { replace: true });
}

/** Why the person is on the sign-in page, when something sent them here. */
function reason(next) {
  const code = applyingFor(next);
  if (code) return notice('info', h('p', { id: 'signin-reason' }, t('signin.reason_apply', { code })));
  return next ? notice('info', h('p', { id: 'signin-reason' }, t('signin.reason_next'))) : null;
}

/** An account whose email or phone is not yet confirmed: the SMS code page, which also resends both. */
function pendingHelp(problem, next) {
  const account = typeof problem.account_id === 'string' && problem.account_id.length <= 64 ? problem.account_id : null;
  if (!account) return null;
  return notice('warning',
    h('p', {}, t('signin.pending_help')),
    h('p', {}, h('a', { href: withNext(`/verify-phone?account=${encodeURIComponent(account)}`, next), class: 'button',
      id: 'verify-pending' }, t('signin.pending_verify'))));
}

export default function signin(ctx) {
  const next = intent(ctx.query);
  if (next) rememberIntent(next);
  const summary = errorSummary();
  const help = h('div', { class: 'status-area' });
  const username = field({ name: 'username', label: t('signin.username'), autocomplete: 'username', required: true, maxlength: '254' });
  const password = field({ name: 'password', label: t('signin.password'), type: 'password', autocomplete: 'current-password',
    required: true, maxlength: '256' });
  const submit = h('button', { type: 'submit', class: 'button' }, t('signin.submit'));
  const form = h('form', { novalidate: true, class: 'stack' }, summary.element, help, username.element, password.element, submit);
  const fields = { '/username': username, '/password': password };
  const labels = { '/username': t('signin.username'), '/password': t('signin.password') };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const said = {};
      if (!username.input.value.trim()) said['/username'] = t('problem.required');
      if (!password.input.value) said['/password'] = t('problem.required');
      fill(help);
      if (Object.keys(said).length) {
        showProblems(summary, fields, { said }, labels);
        return;
      }
      try {
        const { body } = await api('/v1/auth/login', { method: 'POST', auth: false,
          body: { username: username.input.value.trim(), password: password.input.value } });
        if (body.mfa_required) {
          secondStep(ctx, body, next);
          return;
        }
        if (body.mfa_enrolment_required) {
          enrolmentStep(ctx, body.enrolment_token);
          return;
        }
        await finish(body, next);
      } catch (error) {
        password.input.value = '';
        if (error.status === 401) {
          const title = error.problem?.title || '';
          const pendingVerification = /verif/i.test(title);
          const said = title === 'Account disabled' ? 'signin.disabled' : pendingVerification ? 'signin.not_verified' : 'signin.wrong';
          summary.show([{ text: t(said), target: username.input.id }]);
          if (pendingVerification) fill(help, pendingHelp(error.problem, next));
        } else if (error.status === 429) {
          const wait = Math.max(1, Math.ceil((error.retryAfter || 60) / 60));
          summary.show([{ text: t('signin.locked', { minutes: wait }) }]);
        } else if (error.status === 422) {
          showProblems(summary, fields, error, labels);
        } else {
          summary.show([{ text: failure(error) }]);
        }
      }
    });
  });

  const withPasskey = passkeyButton(summary, null, next, 'signin.passkey');
  page(ctx, t('signin.title'), reason(next), form, withPasskey ? h('p', {}, withPasskey) : null,
    h('ul', { class: 'links' },
      h('li', {}, h('a', { href: '/forgot-password' }, t('signin.forgot'))),
      h('li', {}, h('a', { href: withNext('/register', next) }, t('signin.no_account')))));
}

/** A button that signs in with a passkey: alone (`mfaToken` null), or as the second step after the password. */
function passkeyButton(summary, mfaToken, next, label) {
  if (!passkeysSupported()) return null;
  const button = h('button', { type: 'button', class: 'button button-secondary', id: 'passkey-sign-in' }, t(label));
  button.addEventListener('click', () => busy(button, async () => {
    try {
      const { body: options } = await api('/v1/auth/webauthn/options', { method: 'POST', auth: false,
        body: mfaToken ? { mfa_token: mfaToken } : {} });
      const credential = await getPasskey(options.public_key);
      const { body } = await api('/v1/auth/webauthn/verify', { method: 'POST', auth: false,
        body: { ceremony_id: options.ceremony_id, credential } });
      await finish(body, next);
    } catch (error) {
      summary.show([{ text: error instanceof DOMException ? t('signin.passkey_cancelled') : t('signin.passkey_wrong') }]);
    }
  }));
  return button;
}

/** Officers and admins: a second factor before anything else. The enrolment token opens only these steps. */
function enrolmentStep(ctx, enrolmentToken) {
  const withToken = { auth: false, headers: { Authorization: `Bearer ${enrolmentToken}` } };
  const section = h('section', { class: 'panel', 'aria-labelledby': 'enrol-title' });
  const heading = h('h2', { id: 'enrol-title' }, t('enrol.choose'));
  const status = h('div', { class: 'status-area' });
  const again = h('p', {}, h('a', { href: '/login', class: 'button' }, t('enrol.continue')));
  const app = h('button', { type: 'button', class: 'button', id: 'enrol-totp' }, t('enrol.app'));
  app.addEventListener('click', () => busy(app, async () => {
    try {
      enrol(section, heading, await startTotp(withToken), withToken, again);
    } catch (error) {
      fill(status, notice('error', failure(error)));
    }
  }));
  const passkey = passkeysSupported()
    ? h('button', { type: 'button', class: 'button button-secondary', id: 'enrol-passkey' }, t('enrol.passkey'))
    : null;
  passkey?.addEventListener('click', () => busy(passkey, async () => {
    try {
      passkeyAdded(section, heading, await addPasskey(withToken, withToken), again);
    } catch (error) {
      fill(status, notice('error', error instanceof DOMException ? t('signin.passkey_cancelled') : failure(error)));
    }
  }));
  fill(section, heading, h('div', { class: 'button-row' }, app, passkey), status);
  page(ctx, t('enrol.title'), h('p', { class: 'lead' }, t('enrol.intro')), section);
  ctx.main.querySelector('h1').focus();
}

function secondStep(ctx, { mfa_token: mfaToken, methods = ['totp'] }, next) {
  const summary = errorSummary();
  const code = field({ name: 'code', label: t('signin.mfa_code'), hint: t('signin.mfa_code_hint'), autocomplete: 'one-time-code',
    inputmode: 'numeric', maxlength: '6', class: 'input-short' });
  // recovery codes have letters: their own text field, not the numeric keypad's
  const recovery = field({ name: 'recovery', label: t('signin.recovery_code'), hint: t('signin.recovery_hint'),
    autocomplete: 'off', maxlength: '32', spellcheck: 'false', autocapitalize: 'none' });
  const other = h('details', { class: 'recovery-option', id: 'use-recovery' },
    h('summary', {}, t('signin.use_recovery')), recovery.element);
  const submit = h('button', { type: 'submit', class: 'button' }, t('signin.mfa_submit'));
  const form = h('form', { novalidate: true, class: 'stack' }, summary.element, code.element, other, submit);
  const labels = { '/code': t('signin.mfa_code'), '/recovery': t('signin.recovery_code') };
  const fields = { '/code': code, '/recovery': recovery };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const typed = code.input.value.replace(/\s/g, '');
      const spare = other.open ? recovery.input.value.trim() : '';
      const pointer = !typed && spare ? '/recovery' : '/code';
      code.setError('');
      recovery.setError('');
      if (!typed && !spare) {
        showProblems(summary, fields, { said: { [pointer]: t('problem.required') } }, labels);
        return;
      }
      try {
        const { body } = await api('/v1/auth/mfa', { method: 'POST', auth: false,
          body: { mfa_token: mfaToken, code: pointer === '/code' ? typed : spare } });
        await finish(body, next);
      } catch (error) {
        code.input.value = '';
        recovery.input.value = '';
        if (error.status === 401) {
          const expired = /expired|sign in again|completed/i.test(error.problem?.detail || '');
          if (expired) {
            summary.show([{ text: t('signin.mfa_expired') }]);
            form.replaceWith(h('p', {}, h('a', { href: withNext('/login', next) }, t('signin.start_again'))));
          } else {
            const wrong = pointer === '/code' ? t('signin.mfa_wrong') : t('signin.recovery_wrong');
            showProblems(summary, fields, { said: { [pointer]: wrong } }, labels);
          }
        } else if (error.status === 429) {
          summary.show([{ text: t('signin.locked', { minutes: Math.max(1, Math.ceil((error.retryAfter || 60) / 60)) }) }]);
        } else {
          summary.show([{ text: failure(error) }]);
        }
      }
    });
  });
  const withPasskey = methods.includes('webauthn') ? passkeyButton(summary, mfaToken, next, 'signin.mfa_passkey') : null;
  page(ctx, t('signin.mfa_title'), h('p', { class: 'lead' }, t('signin.mfa_intro')), withPasskey, form);
  ctx.main.querySelector('h1').focus();
}
