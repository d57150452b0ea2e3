// Filling a dossier: the procedure's form with autosave, its documents, then on to the check.
import { api } from '../api.js';
import { Autosave, keptEdits } from '../autosave.js';
import { backLink, busy, notice, page, requireRole } from '../blocks.js';
import { fill, h } from '../dom.js';
import { errorSummary, showProblems } from '../fields.js';
import { localProblems, schemaForm } from '../forms.js';
import { formatTime, pick, t } from '../i18n.js';
import { navigate } from '../router.js';
import { documentSlot } from '../uploads.js';

export const EDITABLE = new Set(['draft', 'supplement_requested']);

/** The application with its ETag, and the procedure version it was started on. */
export async function loadDossier(id) {
  const { body: application, etag } = await api(`/v1/applications/${encodeURIComponent(id)}`);
  const code = encodeURIComponent(application.procedure_code);
  let version;
  try {
    version = (await api(`/v1/procedures/${code}/versions/${application.procedure_version}`, { auth: false })).body;
  } catch {
    version = (await api(`/v1/procedures/${code}`, { auth: false })).body;
  }
  return { application, etag, version };
}

function sameValues(kept, data) {
  return Object.entries(kept).every(([k, v]) => (v === null ? !(k in data) : Object.is(data[k], v)));
}

// Once the citizen has asked to go on to the check (or the check page found something), the form shows
// what is still wrong each time it opens, so a way back from the check page keeps the messages beside the fields.
const checkedKey = (id) => `motcua.checked.${id}`;
const refusedKey = (id) => `motcua.refused.${id}`;

/** The check page found `said` (pointer → sentence, from the page or the server): the form shows it on return. */
export function rememberProblems(id, said) {
  sessionStorage.setItem(checkedKey(id), '1');
  if (Object.keys(said).length) sessionStorage.setItem(refusedKey(id), JSON.stringify(said));
  else sessionStorage.removeItem(refusedKey(id));
}

function rememberedProblems(id) {
  if (!sessionStorage.getItem(checkedKey(id))) return null;
  const kept = sessionStorage.getItem(refusedKey(id));
  sessionStorage.removeItem(refusedKey(id));
  try {
    return kept ? JSON.parse(kept) : {};
  } catch {
    return {};
  }
}

/** Required documents not uploaded yet (pointer → sentence). */
export function missingDocuments(version, documents) {
  const said = {};
  for (const spec of version.required_documents) {
    if (spec.required && !documents.some((d) => d && d.document_key === spec.key)) {
      said[`/documents/${spec.key}`] = t('documents.missing');
    }
  }
  return said;
}

export function lastComment(application) {
  const entry = [...(application.history || [])].reverse().find((e) => e.to === application.status && e.comment);
  return entry ? entry.comment : '';
}

export default async function apply(ctx) {
  if (!requireRole(ctx, 'citizen')) return undefined;
  const { id } = ctx.params;
  const { application, etag, version } = await loadDossier(id);
  if (!ctx.isCurrent()) return undefined;
  if (!EDITABLE.has(application.status)) {
    navigate(`/applications/${encodeURIComponent(id)}`, { replace: true });
    return undefined;
  }
  const summary = errorSummary();
  const saveState = h('p', { class: 'save-state', id: 'save-state', role: 'status', 'aria-live': 'polite', 'data-state': 'saved' });
  const conflict = h('div', { id: 'conflict' });
  let kept = keptEdits(id);
  if (kept && kept.base !== etag && sameValues(kept.data, application.data)) kept = null; // already saved before a reload

  const setState = (state, detail) => {
    saveState.dataset.state = state;
    if (state === 'saved') {
      saveState.textContent = detail ? t('autosave.saved_at', { time: formatTime(detail) }) : t('autosave.saved');
    } else if (state === 'invalid') {
      saveState.textContent = t('autosave.invalid');
      showProblems(summary, form.fields, detail, form.labels);
    } else {
      saveState.textContent = t(`autosave.${state}`);
    }
    if (state === 'conflict') showConflict();
    if (state === 'saved' || state === 'saving') fill(conflict);
  };

  const keeper = new Autosave({ applicationId: id, etag, onState: setState });
  const form = schemaForm(version, { ...application.data }, (name, value) => {
    form.fields[`/data/${name}`]?.setError('');
    keeper.edit(name, value);
  });

  function showConflict() {
    const mine = h('button', { type: 'button', class: 'button', id: 'keep-mine' }, t('conflict.keep_mine'));
    const theirs = h('button', { type: 'button', class: 'button button-secondary', id: 'take-theirs' }, t('conflict.take_theirs'));
    mine.addEventListener('click', () => busy(mine, async () => {
      form.set(await keeper.keepMine());
      fill(conflict);
    }));
    theirs.addEventListener('click', () => busy(theirs, async () => {
      form.set((await keeper.takeTheirs()).data);
      fill(conflict);
    }));
    fill(conflict, h('div', { class: 'notice notice-warning conflict', role: 'alert' },
      h('h2', {}, t('conflict.title')), h('p', {}, t('conflict.body')), h('div', { class: 'button-row' }, mine, theirs)));
  }

  if (kept) {
    keeper.adopt(kept);
    const merged = { ...application.data };
    for (const [k, v] of Object.entries(kept.data)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    form.set(merged);
    setState(navigator.onLine ? 'unsaved' : 'offline');
    keeper.flush();
  } else {
    setState('saved');
  }

  const uploaded = Object.fromEntries(application.documents.map((d) => [d.document_key, d]));
  const slots = version.required_documents.map((spec) => documentSlot({
    applicationId: id,
    spec,
    current: uploaded[spec.key] || null,
    editable: true,
    onChange: (doc) => { uploaded[spec.key] = doc; },
  }));
  // the documents take part in the check like fields: a message beside each, a link to its file input
  const targets = { ...form.fields };
  const labels = { ...form.labels };
  version.required_documents.forEach((spec, i) => {
    targets[`/documents/${spec.key}`] = { setError: slots[i].setError, input: { id: `doc-${spec.key}` } };
    labels[`/documents/${spec.key}`] = pick(spec, 'name');
  });
  const problemsNow = () => ({
    ...localProblems(version, form.values()),
    ...missingDocuments(version, Object.values(uploaded)),
  });

  const next = h('button', { type: 'button', class: 'button', id: 'to-review' }, t('apply.continue'));
  next.addEventListener('click', () => busy(next, async () => {
    await keeper.flush();
    if (keeper.hasPending()) {
      summary.show([{ text: t(keeper.conflicted ? 'conflict.title' : 'autosave.must_save') }]);
      return;
    }
    sessionStorage.setItem(checkedKey(id), '1');
    const said = problemsNow();
    if (Object.keys(said).length) {
      showProblems(summary, targets, { said }, labels);
      return;
    }
    navigate(`/applications/${encodeURIComponent(id)}/review`);
  }));

  const comment = application.status === 'supplement_requested' ? lastComment(application) : '';
  page(ctx, pick(version, 'name'),
    backLink(`/procedures/${encodeURIComponent(application.procedure_code)}`, t('apply.back')),
    h('ol', { class: 'progress-steps', 'aria-label': t('apply.steps') },
      h('li', { 'aria-current': 'step' }, t('apply.step_form')), h('li', {}, t('apply.step_review')), h('li', {}, t('apply.step_submit'))),
    application.status === 'supplement_requested'
      ? notice('warning', h('p', {}, t('dossier.supplement_needed')), comment ? h('p', {}, h('q', {}, comment)) : null) : null,
    h('p', {}, t('apply.autosave_intro')),
    saveState,
    conflict,
    summary.element,
    h('form', { novalidate: true, id: 'application-form', onsubmit: (e) => e.preventDefault() },
      h('h2', {}, t('apply.form_title')),
      form.element,
      h('h2', { id: 'documents-title' }, t('procedure.documents')),
      slots.length ? h('div', { class: 'stack' }, slots.map((s) => s.element)) : h('p', {}, t('procedure.no_documents'))),
    h('div', { class: 'button-row' }, next));
  // back from the check page (its "change" link, a link of its list, Back): what is still wrong, beside each field
  const remembered = rememberedProblems(id);
  if (remembered) {
    const said = { ...remembered, ...problemsNow() };
    for (const pointer of Object.keys(remembered)) if (!(pointer in targets)) delete said[pointer];
    if (Object.keys(said).length) showProblems(summary, targets, { said }, labels, { focus: false });
  }
  return () => keeper.stop();
}
