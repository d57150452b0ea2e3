// Labelled inputs with their hint and their error next to them, and the error summary of a form
// (GOV.UK-style: a list at the top linking to each field, each error also beside its field).
import { fill, h, uid } from './dom.js';
import { t } from './i18n.js';
import { explain } from './problems.js';

/** A labelled input: {element, input, setError, value}. `type: 'textarea'` or 'select' too. */
export function field({ name, label, type = 'text', hint, required = false, options, value = '', ...attrs }) {
  const id = attrs.id || uid(`f-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const common = {
    id, name, required, 'aria-describedby': hintId, 'aria-required': required ? 'true' : null, ...attrs,
  };
  let input;
  if (type === 'textarea') {
    input = h('textarea', { rows: '4', ...common });
    input.value = value ?? '';
  } else if (type === 'select') {
    input = h('select', common, (options || []).map((o) => h('option', { value: o.value }, o.label)));
    input.value = value ?? '';
  } else {
    input = h('input', { type, value: value ?? '', ...common });
  }
  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  const element = h('div', { class: 'field', 'data-field': name },
    h('label', { for: id }, label, required ? h('span', { class: 'required-mark' }, ` ${t('form.required_mark')}`) : null),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    error,
    input);
  return { element, input, name, setError: (message) => setError(element, input, error, hintId, message) };
}

/** A group of radio buttons in a fieldset with its legend. */
export function radios({ name, legend, options, value, hint, onchange }) {
  const id = uid(`r-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const error = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  const inputs = [];
  const items = options.map((o, i) => {
    const inputId = `${id}-${i}`;
    const input = h('input', {
      type: 'radio', name, id: inputId, value: o.value, checked: o.value === value, onchange,
    });
    inputs.push(input);
    return h('div', { class: 'choice' }, input, h('label', { for: inputId }, o.label));
  });
  const fieldset = h('fieldset', { class: 'field', 'data-field': name, 'aria-describedby': hintId, id },
    h('legend', {}, legend), hint ? h('p', { class: 'hint', id: hintId }, hint) : null, error, items);
  return {
    element: fieldset,
    input: inputs[0],
    inputs,
    name,
    get value() { return inputs.find((r) => r.checked)?.value ?? ''; },
    setError: (message) => setError(fieldset, inputs[0], error, hintId, message, inputs),
  };
}

function setError(element, input, error, hintId, message, group = [input]) {
  element.classList.toggle('has-error', Boolean(message));
  error.hidden = !message;
  fill(error, message ? [h('span', { class: 'visually-hidden' }, `${t('form.error_prefix')} `), message] : []);
  for (const each of group) {
    const ids = (each.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== error.id);
    if (hintId && !ids.includes(hintId)) ids.unshift(hintId);
    if (message) {
      each.setAttribute('aria-invalid', 'true');
      ids.push(error.id);
    } else {
      each.removeAttribute('aria-invalid');
    }
    if (ids.length) each.setAttribute('aria-describedby', ids.join(' '));
    else each.removeAttribute('aria-describedby');
  }
}

/** The box at the top of a form listing what to fix; each entry links to its field. */
export function errorSummary() {
  const box = h('div', { class: 'error-summary', tabindex: '-1', hidden: true, role: 'alert', 'aria-labelledby': uid('es') });
  const title = h('h2', { id: box.getAttribute('aria-labelledby') }, t('form.error_summary'));
  return {
    element: box,
    show(entries, { focus = true } = {}) {
      if (!entries.length) {
        this.hide();
        return;
      }
      // field problems are "there is a problem" to fix; a refusal with nothing to fix (offline, locked out,
      // the service failing) gets a heading of its own
      title.textContent = t(entries.some((e) => e.target) ? 'form.error_summary' : 'form.error_notice');
      fill(box, title, h('ul', {}, entries.map((e) => h('li', {},
        e.target ? h('a', { href: `#${e.target}`, onclick: (event) => focusField(event, e.target) }, e.text) : e.text))));
      box.hidden = false;
      if (focus) box.focus();
    },
    hide() {
      box.hidden = true;
      fill(box);
    },
  };
}

function focusField(event, id) {
  const target = document.getElementById(id);
  if (!target) return;
  event.preventDefault();
  target.scrollIntoView({ block: 'center' });
  target.focus();
}

/**
 * Show an ApiError's field problems beside their fields (`fields` maps a JSON pointer to a field
 * from `field()`); the rest go to the summary with the problem's own detail.
 */
export function showProblems(summary, fields, error, labels = {}, { focus = true } = {}) {
  Object.values(fields).forEach((f) => f.setError(''));
  const entries = [];
  // `error.said` holds sentences already written for the reader (checks made in the page)
  const problems = error.said || error.fieldErrors || {};
  for (const [pointer, message] of Object.entries(problems)) {
    const target = fields[pointer];
    const text = error.said ? message : explain(pointer, message);
    const named = withLabel(labels[pointer], text);
    if (target) {
      target.setError(text);
      entries.push({ text: named, target: target.input.id });
    } else {
      entries.push({ text: named });
    }
  }
  if (!entries.length) entries.push({ text: explain('', error.problem?.detail || error.message) });
  entries.sort((a, b) => order(fields, a.target) - order(fields, b.target));
  summary.show(entries, { focus });
}

/** "Label: message" for the summary, unless the message already names its field ("Hãy chọn giới tính."). */
export function withLabel(label, text) {
  if (!label || String(text).toLowerCase().includes(label.toLowerCase())) return text;
  return `${label}: ${text}`;
}

function order(fields, id) {
  const all = Object.values(fields).map((f) => f.input.id);
  const at = all.indexOf(id);
  return at === -1 ? all.length : at;
}
