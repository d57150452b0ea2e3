// Admins: the officers of each agency — create one (with its agency and desk roles), list them by agency,
// change their roles (identity ends the officer's sessions, so the next sign-in carries the new roles), and
// disable or enable them (a disabled officer cannot sign in; their sessions end at once).
import { api } from '../api.js';
import { busy, confirmDialog, failure, notice, page, requireRole } from '../blocks.js';
import { fill, h } from '../dom.js';
import { errorSummary, field, showProblems } from '../fields.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { adminTabs } from './admin_catalogue.js';
import { agencyList, agencyName } from './catalogue.js';

const ROLES = ['intake', 'specialist', 'approver'];
const AGENCY = /^[A-Z0-9][A-Z0-9-]{0,31}$/;

/** Three checkboxes in a fieldset: the desk roles, `chosen` ticked. */
function roleChoice(name, legend, chosen, idPrefix) {
  const inputs = ROLES.map((role) => h('input', { type: 'checkbox', name, value: role, id: `${idPrefix}-${role}`,
    checked: chosen.includes(role) }));
  const error = h('p', { class: 'field-error', id: `${idPrefix}-error`, hidden: true });
  const element = h('fieldset', { class: 'field', id: idPrefix }, h('legend', {}, legend), error,
    inputs.map((input, i) => h('div', { class: 'choice' }, input, h('label', { for: input.id }, t(`agency_role.${ROLES[i]}`)))));
  return {
    element,
    input: inputs[0],
    get value() { return inputs.filter((i) => i.checked).map((i) => i.value); },
    setError: (message) => {
      error.hidden = !message;
      error.textContent = message || '';
      element.classList.toggle('has-error', Boolean(message));
      for (const input of inputs) {
        if (message) { input.setAttribute('aria-invalid', 'true'); input.setAttribute('aria-describedby', error.id); }
        else { input.removeAttribute('aria-invalid'); input.removeAttribute('aria-describedby'); }
      }
    },
  };
}

function rolesText(roles) {
  return (roles || []).map((r) => t(`agency_role.${r}`)).join(', ');
}

/** "Disable" (confirmed first: the officer is signed out at once) or "Enable" for one officer. */
function standingButton(officer, result, dialog) {
  const disabling = officer.status !== 'disabled';
  const button = h('button', { type: 'button', class: 'button button-secondary', 'data-standing': officer.id },
    t(disabling ? 'admin.disable' : 'admin.enable'));
  const change = async () => {
    try {
      const { body } = await api(`/v1/admin/officers/${encodeURIComponent(officer.id)}/${disabling ? 'disable' : 'enable'}`,
        { method: 'POST' });
      sessionStorage.setItem('motcua.admin-done', t(disabling ? 'admin.disabled_done' : 'admin.enabled_done', { name: body.full_name }));
      await navigate(window.location.pathname + window.location.search, { replace: true });
    } catch (error) {
      fill(result, notice('error', error.status === 409 ? t('admin.not_yourself') : failure(error)));
    }
  };
  button.addEventListener('click', () => {
    if (!disabling) {
      busy(button, change);
      return;
    }
    dialog.ask([h('p', {}, t('admin.disable_confirm', { name: officer.full_name })), h('p', { class: 'hint' }, t('admin.disable_effect'))],
      change);
  });
  return button;
}

/** One officer's row: name, email, agency, roles, standing, a form to change the roles, disable or enable. */
function officerRow(officer, result, dialog) {
  const choice = roleChoice(`roles-${officer.id}`, t('admin.roles_of', { name: officer.full_name }), officer.agency_roles || [],
    `roles-${officer.id}`);
  const save = h('button', { type: 'submit', class: 'button button-secondary' }, t('admin.save_roles'));
  const form = h('form', { novalidate: true, class: 'stack', onsubmit: (event) => {
    event.preventDefault();
    if (!choice.value.length) {
      choice.setError(t('admin.roles_required'));
      choice.input.focus();
      return;
    }
    busy(save, async () => {
      try {
        const { body } = await api(`/v1/admin/officers/${encodeURIComponent(officer.id)}/roles`, { method: 'PUT',
          body: { roles: choice.value } });
        sessionStorage.setItem('motcua.admin-done', t('admin.roles_saved', { name: body.full_name, roles: rolesText(body.agency_roles) }));
        await navigate(window.location.pathname + window.location.search, { replace: true });
      } catch (error) {
        if (error.status === 422) choice.setError(t('admin.roles_required'));
        else fill(result, notice('error', failure(error)));
      }
    });
  } }, choice.element, save);
  return h('tr', { 'data-officer': officer.id },
    h('th', { scope: 'row' }, officer.full_name),
    h('td', {}, officer.email || '—'),
    h('td', {}, agencyName(officer.agency_code)),
    h('td', { class: 'officer-roles' }, rolesText(officer.agency_roles)),
    h('td', { class: 'officer-standing' }, t(officer.status === 'disabled' ? 'admin.status_disabled' : 'admin.status_active')),
    h('td', { class: 'stack' }, h('details', {}, h('summary', {}, t('admin.change_roles')), form), standingButton(officer, result, dialog)));
}

/** A new officer: name, email, phone, a first password, agency and roles. */
function createForm(agencies, chosenAgency, result) {
  const summary = errorSummary();
  const fields = {
    '/full_name': field({ name: 'full_name', label: t('register.full_name'), required: true, autocomplete: 'off', maxlength: '200' }),
    '/email': field({ name: 'email', label: t('register.email'), type: 'email', required: true, autocomplete: 'off' }),
    '/phone': field({ name: 'phone', label: t('register.phone'), type: 'tel', required: true, autocomplete: 'off' }),
    '/password': field({ name: 'password', label: t('admin.first_password'), type: 'password', required: true,
      autocomplete: 'new-password', hint: t('admin.first_password_hint') }),
    '/agency_code': field({ name: 'agency_code', label: t('procedure.agency'), type: 'select', required: true,
      options: [{ value: '', label: t('admin.choose_agency') }, ...agencies.map((a) => ({ value: a.code, label: `${a.code} — ${agencyName(a.code)}` }))],
      value: chosenAgency }),
    '/roles': roleChoice('roles', t('admin.roles'), ROLES, 'new-officer-roles'),
  };
  const labels = { '/full_name': t('register.full_name'), '/email': t('register.email'), '/phone': t('register.phone'),
    '/password': t('admin.first_password'), '/agency_code': t('procedure.agency'), '/roles': t('admin.roles') };
  const submit = h('button', { type: 'submit', class: 'button', id: 'create-officer' }, t('admin.create'));
  const form = h('form', { novalidate: true, class: 'stack panel', 'aria-labelledby': 'create-title', onsubmit: (event) => {
    event.preventDefault();
    const body = {};
    for (const [pointer, f] of Object.entries(fields)) body[pointer.slice(1)] = pointer === '/roles' ? f.value : f.input.value.trim();
    body.password = fields['/password'].input.value; // a password is taken as typed
    const said = {};
    for (const pointer of ['/full_name', '/email', '/phone', '/password', '/agency_code']) {
      if (!body[pointer.slice(1)]) said[pointer] = t('problem.required');
    }
    if (!body.roles.length) said['/roles'] = t('admin.roles_required');
    if (Object.keys(said).length) {
      showProblems(summary, fields, { said }, labels);
      return;
    }
    busy(submit, async () => {
      try {
        const { body: created } = await api('/v1/admin/officers', { method: 'POST', body });
        sessionStorage.setItem('motcua.admin-done', t('admin.created', { name: created.full_name, agency: agencyName(created.agency_code) }));
        await navigate(`/admin?agency=${encodeURIComponent(created.agency_code)}`, { replace: true });
      } catch (error) {
        if (error.status === 422) showProblems(summary, fields, error, labels);
        else if (error.status === 409) summary.show([{ text: t('admin.taken') }]);
        else fill(result, notice('error', failure(error)));
      }
    });
  } },
  h('h2', { id: 'create-title' }, t('admin.create_title')),
  summary.element, Object.values(fields).map((f) => f.element), submit);
  return form;
}

/** `/admin?agency=`: the officers of an agency, and a new one. */
export async function adminOfficers(ctx) {
  if (!requireRole(ctx, 'admin')) return;
  const agencies = await agencyList();
  const wanted = ctx.query.get('agency') || '';
  const agency = AGENCY.test(wanted) ? wanted : '';
  const result = h('div', { class: 'status-area', id: 'admin-result' });
  const done = sessionStorage.getItem('motcua.admin-done');
  if (done) {
    sessionStorage.removeItem('motcua.admin-done');
    fill(result, notice('success', done));
  }
  const { body } = await api(`/v1/admin/officers?page_size=100${agency ? `&agency=${encodeURIComponent(agency)}` : ''}`);
  const filter = h('form', { class: 'filters', onsubmit: (event) => {
    event.preventDefault();
    const value = event.target.elements.agency.value;
    navigate(`/admin${value ? `?agency=${encodeURIComponent(value)}` : ''}`);
  } },
  h('div', { class: 'field' }, h('label', { for: 'admin-agency' }, t('procedure.agency')),
    h('select', { id: 'admin-agency', name: 'agency' }, h('option', { value: '' }, t('admin.all_agencies')),
      agencies.map((a) => h('option', { value: a.code, selected: a.code === agency }, `${a.code} — ${agencyName(a.code)}`)))),
  h('button', { type: 'submit', class: 'button button-secondary' }, t('dossiers.apply_filter')));
  const caption = t('admin.caption');
  const dialog = confirmDialog('standing', t('admin.disable_title'), t('admin.disable_do'), t('officer.confirm_back'));
  const table = body.items.length
    ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
      h('table', { class: 'queue', id: 'officers' },
        h('caption', { class: 'visually-hidden' }, caption),
        h('thead', {}, h('tr', {}, [t('register.full_name'), t('register.email'), t('procedure.agency'), t('admin.roles'),
          t('admin.standing'), t('admin.actions')].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, body.items.map((o) => officerRow(o, result, dialog)))), dialog.element)
    : notice('info', t('admin.none'));
  page(ctx, t('admin.title'),
    adminTabs('officers'),
    h('p', { class: 'lead' }, t('admin.lead')),
    result,
    h('h2', {}, t('admin.list_title')),
    filter,
    h('p', { role: 'status' }, t('officer.count_officers', { count: body.total })),
    table,
    createForm(agencies, agency, result));
}
