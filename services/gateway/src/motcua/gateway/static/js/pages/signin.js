// Signing in: the password, then (when two-factor is on) the authenticator's code.
import { api } from '../api.js';
import { busy, failure, page } from '../blocks.js';
import { h } from '../dom.js';
import { errorSummary, field, showProblems } from '../fields.js';
import { t } from '../i18n.js';
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
          secondStep(ctx, body.mfa_token, next);
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

  page(ctx, t('signin.title'), form,
    h('ul', { class: 'links' },
      h('li', {}, h('a', { href: '/forgot-password' }, t('signin.forgot'))),
      h('li', {}, h('a', { href: '/register' }, t('signin.no_account')))));
}

function secondStep(ctx, mfaToken, next) {
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
  page(ctx, t('signin.mfa_title'), h('p', { class: 'lead' }, t('signin.mfa_intro')), form);
  ctx.main.querySelector('h1').focus();
}
