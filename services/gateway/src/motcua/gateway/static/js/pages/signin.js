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

function safeNext(next) {
  // only a path of this site: never an address elsewhere (an open redirect)
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : null;
}

async function finish(tokens, next) {
  signIn(tokens);
  try {
    rememberAccount((await api('/v1/accounts/me')).body);
  } catch {
    // the name in the header can wait
  }
  const home = hasRole('officer') ? '/officer' : '/applications';
  navigate(safeNext(next) || home, { replace: true });
}

export default function signin(ctx) {
  const next = ctx.query.get('next');
  const summary = errorSummary();
  const username = field({ name: 'username', label: t('signin.username'), autocomplete: 'username', required: true, maxlength: '254' });
  const password = field({ name: 'password', label: t('signin.password'), type: 'password', autocomplete: 'current-password',
    required: true, maxlength: '256' });
  const submit = h('button', { type: 'submit', class: 'button' }, t('signin.submit'));
  const form = h('form', { novalidate: true, class: 'stack' }, summary.element, username.element, password.element, submit);
  const fields = { '/username': username, '/password': password };
  const labels = { '/username': t('signin.username'), '/password': t('signin.password') };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const said = {};
      if (!username.input.value.trim()) said['/username'] = t('problem.required');
      if (!password.input.value) said['/password'] = t('problem.required');
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
          const pendingVerification = /verif/i.test(error.problem?.title || '');
          summary.show([{ text: t(pendingVerification ? 'signin.not_verified' : 'signin.wrong'), target: username.input.id }]);
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
  page(ctx, t('signin.title'), form, withPasskey ? h('p', {}, withPasskey) : null,
    h('ul', { class: 'links' },
      h('li', {}, h('a', { href: '/forgot-password' }, t('signin.forgot'))),
      h('li', {}, h('a', { href: '/register' }, t('signin.no_account')))));
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
  const code = field({ name: 'code', label: t('signin.mfa_code'), hint: t('signin.mfa_hint'), autocomplete: 'one-time-code',
    inputmode: 'numeric', maxlength: '32', required: true, class: 'input-short' });
  const submit = h('button', { type: 'submit', class: 'button' }, t('signin.mfa_submit'));
  const form = h('form', { novalidate: true, class: 'stack' }, summary.element, code.element, submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const value = code.input.value.trim();
      if (!value) {
        showProblems(summary, { '/code': code }, { said: { '/code': t('problem.required') } }, { '/code': t('signin.mfa_code') });
        return;
      }
      try {
        const { body } = await api('/v1/auth/mfa', { method: 'POST', auth: false, body: { mfa_token: mfaToken, code: value } });
        await finish(body, next);
      } catch (error) {
        code.input.value = '';
        if (error.status === 401) {
          const expired = /expired|sign in again|completed/i.test(error.problem?.detail || '');
          summary.show([{ text: t(expired ? 'signin.mfa_expired' : 'signin.mfa_wrong'), target: code.input.id }]);
          if (expired) form.replaceWith(h('p', {}, h('a', { href: '/login' }, t('signin.start_again'))));
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
