// Forgotten password: ask for a link by email, then choose a new password on the link's page.
import { api } from '../api.js';
import { busy, failure, notice, page } from '../blocks.js';
import { fill, h } from '../dom.js';
import { errorSummary, field, showProblems } from '../fields.js';
import { t } from '../i18n.js';
import { strengthMeter } from '../strength.js';

export function forgotPassword(ctx) {
  const summary = errorSummary();
  const email = field({ name: 'email', label: t('register.email'), type: 'email', autocomplete: 'email', required: true, maxlength: '254' });
  const submit = h('button', { type: 'submit', class: 'button' }, t('password.send_link'));
  const result = h('div', { class: 'status-area' });
  const form = h('form', { novalidate: true, class: 'stack' }, summary.element, email.element, submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.input.value.trim())) {
        showProblems(summary, { '/email': email }, { said: { '/email': t('problem.email') } }, { '/email': t('register.email') });
        return;
      }
      try {
        await api('/v1/auth/password-reset', { method: 'POST', auth: false, body: { email: email.input.value.trim() } });
        summary.hide();
        email.setError('');
        form.hidden = true;
        fill(result, notice('success', t('password.link_sent')));
      } catch (error) {
        if (error.status === 422) showProblems(summary, { '/email': email }, error, { '/email': t('register.email') });
        else summary.show([{ text: failure(error) }]);
      }
    });
  });
  page(ctx, t('password.forgot_title'), h('p', { class: 'lead' }, t('password.forgot_intro')), form, result);
}

let resetToken = null; // read from the address once, then kept out of it

export function resetPassword(ctx) {
  const fromLink = ctx.query.get('token');
  if (fromLink) {
    resetToken = fromLink.slice(0, 256);
    window.history.replaceState({}, '', '/reset-password');
  }
  if (!resetToken) {
    page(ctx, t('password.reset_title'), notice('error', t('problem.link_invalid')),
      h('p', {}, h('a', { href: '/forgot-password' }, t('password.ask_again'))));
    return;
  }
  const summary = errorSummary();
  const password = field({ name: 'new_password', label: t('password.new'), type: 'password', autocomplete: 'new-password',
    required: true, maxlength: '128', hint: t('register.password_hint') });
  password.element.append(strengthMeter(password.input));
  const submit = h('button', { type: 'submit', class: 'button' }, t('password.save'));
  const result = h('div', { class: 'status-area' });
  const form = h('form', { novalidate: true, class: 'stack' }, summary.element, password.element, submit);
  const fields = { '/new_password': password };
  const labels = { '/new_password': t('password.new') };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      if ([...password.input.value].length < 8) {
        showProblems(summary, fields, { said: { '/new_password': t('problem.min_length_8') } }, labels);
        return;
      }
      try {
        await api('/v1/auth/password-reset/confirm', { method: 'POST', auth: false,
          body: { token: resetToken, new_password: password.input.value } });
        resetToken = null;
        form.hidden = true;
        summary.hide();
        fill(result, notice('success', t('password.changed'), ' ', h('a', { href: '/login' }, t('nav.sign_in'))));
      } catch (error) {
        if (error.status === 422 && error.fieldErrors['/token']) {
          summary.show([{ text: t('problem.link_invalid') }]);
        } else if (error.status === 422) {
          showProblems(summary, fields, error, labels);
        } else {
          summary.show([{ text: failure(error) }]);
        }
      }
    });
  });
  page(ctx, t('password.reset_title'), form, result);
}
