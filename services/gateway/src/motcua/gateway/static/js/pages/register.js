// Registration: the account type decides which identity fields are asked; the password gets live
// feedback; each refused field is explained beside it.
import { api } from '../api.js';
import { busy, failure, page } from '../blocks.js';
import { h } from '../dom.js';
import { errorSummary, field, radios, showProblems } from '../fields.js';
import { currentLocale, t } from '../i18n.js';
import { navigate } from '../router.js';
import { strengthMeter } from '../strength.js';
import { intent, rememberIntent, withNext } from '../intent.js';

export const PENDING = 'motcua.pending-account';

function typeFields(type) {
  return {
    national_id: type === 'individual',
    tax_code: type !== 'individual',
    organisation_name: type !== 'individual',
  };
}

export default function register(ctx) {
  const next = intent(ctx.query);
  if (next) rememberIntent(next); // the emailed link may be opened in another tab
  const summary = errorSummary();
  const kind = radios({
    name: 'account_type',
    legend: t('register.account_type'),
    value: 'individual',
    options: ['individual', 'business', 'organisation'].map((v) => ({ value: v, label: t(`account_type.${v}`) })),
    onchange: () => showTypeFields(),
  });
  const f = {
    full_name: field({ name: 'full_name', label: t('register.full_name'), required: true, autocomplete: 'name', maxlength: '200' }),
    email: field({ name: 'email', label: t('register.email'), type: 'email', required: true, autocomplete: 'email', maxlength: '254',
      hint: t('register.email_hint') }),
    phone: field({ name: 'phone', label: t('register.phone'), type: 'tel', required: true, autocomplete: 'tel', maxlength: '32',
      hint: t('register.phone_hint') }),
    national_id: field({ name: 'national_id', label: t('register.national_id'), required: true, inputmode: 'numeric',
      maxlength: '12', hint: t('register.national_id_hint'), autocomplete: 'off' }),
    organisation_name: field({ name: 'organisation_name', label: t('register.organisation_name'), required: true, maxlength: '300' }),
    tax_code: field({ name: 'tax_code', label: t('register.tax_code'), inputmode: 'numeric', maxlength: '14',
      hint: t('register.tax_code_hint') }),
    password: field({ name: 'password', label: t('register.password'), type: 'password', required: true,
      autocomplete: 'new-password', maxlength: '128', hint: t('register.password_hint') }),
    locale: field({ name: 'locale', label: t('register.locale'), type: 'select', value: currentLocale(),
      options: [{ value: 'vi', label: 'Tiếng Việt' }, { value: 'en', label: 'English' }] }),
  };
  const show = h('input', { type: 'checkbox', id: 'show-password',
    onchange: (e) => { f.password.input.type = e.target.checked ? 'text' : 'password'; } });
  const meter = strengthMeter(f.password.input, () => [f.full_name.input.value, f.email.input.value, f.phone.input.value,
    f.national_id.input.value]);
  f.password.element.append(meter, h('div', { class: 'choice' }, show, h('label', { for: 'show-password' }, t('register.show_password'))));

  function showTypeFields() {
    const visible = typeFields(kind.value);
    for (const [name, on] of Object.entries(visible)) f[name].element.hidden = !on;
    f.tax_code.input.required = kind.value === 'business';
    f.tax_code.input.setAttribute('aria-required', String(kind.value === 'business'));
  }

  const submit = h('button', { type: 'submit', class: 'button' }, t('register.submit'));
  const form = h('form', { novalidate: true, class: 'stack' }, summary.element, kind.element,
    Object.values(f).map((x) => x.element), submit);
  showTypeFields();

  const pointers = { '/account_type': kind, ...Object.fromEntries(Object.entries(f).map(([k, v]) => [`/${k}`, v])) };
  const labels = Object.fromEntries(Object.entries(f).map(([k, v]) => [`/${k}`, v.element.querySelector('label').firstChild.textContent]));

  function local() {
    const problems = [];
    const need = (name, ok, key) => { if (!ok) problems.push({ pointer: `/${name}`, message: t(key) }); };
    need('full_name', f.full_name.input.value.trim(), 'problem.required');
    need('email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(f.email.input.value.trim()), 'problem.email');
    need('phone', /^(\+?84|0)[\d\s.-]{8,12}$/.test(f.phone.input.value.trim()), 'problem.phone');
    if (kind.value === 'individual') need('national_id', /^\d{12}$/.test(f.national_id.input.value.trim()), 'problem.national_id');
    if (kind.value !== 'individual') need('organisation_name', f.organisation_name.input.value.trim(), 'problem.required');
    if (kind.value === 'business') need('tax_code', /^\d{10}(-?\d{3})?$/.test(f.tax_code.input.value.trim()), 'problem.tax_code');
    need('password', [...f.password.input.value].length >= 8, 'problem.min_length_8');
    return problems;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const problems = local();
      if (problems.length) {
        showProblems(summary, pointers, { said: Object.fromEntries(problems.map((p) => [p.pointer, p.message])) }, labels);
        return;
      }
      const body = { account_type: kind.value, full_name: f.full_name.input.value.trim(), email: f.email.input.value.trim(),
        phone: f.phone.input.value.trim(), password: f.password.input.value, locale: f.locale.input.value };
      const visible = typeFields(kind.value);
      for (const name of ['national_id', 'tax_code', 'organisation_name']) {
        const value = f[name].input.value.trim();
        if (visible[name] && value) body[name] = value;
      }
      try {
        const { body: account } = await api('/v1/accounts', { method: 'POST', body, auth: false });
        sessionStorage.setItem(PENDING, JSON.stringify({ id: account.id, email: body.email, phone: body.phone }));
        navigate(withNext(`/verify-phone?account=${encodeURIComponent(account.id)}&new=1`, next));
      } catch (error) {
        if (error.status === 409) {
          // identity does not say which detail is taken (that would tell anyone whose details are registered)
          showProblems(summary, pointers, { said: { '': t('register.taken') } }, labels);
        } else if (error.status === 422) {
          showProblems(summary, pointers, error, labels);
        } else {
          summary.show([{ text: failure(error) }]);
        }
      }
    });
  });

  page(ctx, t('register.title'),
    h('p', { class: 'lead' }, t('register.intro')),
    form,
    h('p', {}, t('register.have_account'), ' ', h('a', { href: withNext('/login', next) }, t('nav.sign_in'))));
  return undefined;
}

