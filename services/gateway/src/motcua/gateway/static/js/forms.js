// A procedure's form drawn from its JSON Schema (types, bounds, required) and its UI hints
// (labels, help, order, widgets), in the reader's language. Values go back as JSON of the right
// type; an emptied field is sent as null, which removes it (JSON merge patch).
import { h } from './dom.js';
import { currentLocale, formatDate, formatDateTime, pick, t } from './i18n.js';
import { field, radios } from './fields.js';

function hintsOf(version, name) {
  return version.ui_schema?.fields?.[name] || {};
}

/** The form's field names: the UI order first, then any property it leaves out. */
export function fieldOrder(version) {
  const properties = Object.keys(version.form_schema?.properties || {});
  const ordered = (version.ui_schema?.order || []).filter((n) => properties.includes(n));
  return [...ordered, ...properties.filter((n) => !ordered.includes(n))];
}

export function labelOf(version, name) {
  const hints = hintsOf(version, name);
  return pick(hints, 'label') || hints.label || name.replace(/_/g, ' ');
}

function widgetOf(schema, hints) {
  if (hints.widget) return hints.widget;
  if (schema.enum) return schema.enum.length <= 4 ? 'radio' : 'select';
  if (schema.type === 'boolean') return 'checkbox';
  if (schema.type === 'integer' || schema.type === 'number') return 'number';
  if (schema.format === 'date') return 'date';
  if (schema.format === 'date-time') return 'datetime';
  if (schema.format === 'email') return 'email';
  if ((schema.maxLength || 0) > 200) return 'textarea';
  return 'text';
}

function optionsOf(schema, hints) {
  if (hints.options?.length) {
    return hints.options.map((o) => ({ value: o.value, label: pick(o, 'label') || String(o.value) }));
  }
  return (schema.enum || []).map((v) => ({ value: v, label: String(v) }));
}

/** A readable value: the option's label, a date in the local format, yes/no. */
export function displayValue(version, name, value) {
  if (value === null || value === undefined || value === '') return '';
  const schema = version.form_schema?.properties?.[name] || {};
  const hints = hintsOf(version, name);
  const option = optionsOf(schema, hints).find((o) => o.value === value);
  if (option) return option.label;
  if (typeof value === 'boolean') return t(value ? 'common.yes' : 'common.no');
  if (schema.format === 'date') return formatDate(value);
  if (schema.format === 'date-time') return formatDateTime(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function toLocalDateTime(value) {
  const date = new Date(value);
  if (!value || Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function readValue(control, schema, widget) {
  if (widget === 'checkbox') return control.inputs ? null : control.input.checked;
  const raw = control.inputs ? control.value : control.input.value;
  if (raw === '' || raw === undefined) return null;
  if (widget === 'select' || widget === 'radio') {
    const options = control.optionValues;
    const found = options.find((v) => String(v) === raw);
    return found === undefined ? raw : found;
  }
  if (schema.type === 'integer') {
    const n = Number(raw);
    return Number.isInteger(n) ? n : raw;
  }
  if (schema.type === 'number') {
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw;
  }
  if (widget === 'datetime') return new Date(raw).toISOString();
  return raw;
}

function writeValue(control, widget, value) {
  if (widget === 'checkbox') {
    control.input.checked = value === true;
  } else if (control.inputs) {
    control.inputs.forEach((r) => { r.checked = value !== null && value !== undefined && r.value === String(value); });
  } else if (widget === 'datetime') {
    control.input.value = toLocalDateTime(value);
  } else {
    control.input.value = value === null || value === undefined ? '' : String(value);
  }
}

function build(version, name, required) {
  const schema = version.form_schema.properties[name];
  const hints = hintsOf(version, name);
  const widget = widgetOf(schema, hints);
  const label = labelOf(version, name);
  const hint = pick(hints, 'help') || undefined;
  const id = `field-${name}`;
  const common = { name, label, hint, required, id };
  let control;
  if (widget === 'radio') {
    const options = optionsOf(schema, hints);
    control = radios({ name, legend: label + (required ? ` ${t('form.required_mark')}` : ''), hint,
      options: options.map((o) => ({ value: String(o.value), label: o.label })) });
    control.inputs[0].id = id;
    control.element.querySelector('label').setAttribute('for', id);
    control.optionValues = options.map((o) => o.value);
  } else if (widget === 'select') {
    const options = optionsOf(schema, hints);
    control = field({ ...common, type: 'select',
      options: [{ value: '', label: t('form.choose') }, ...options.map((o) => ({ value: String(o.value), label: o.label }))] });
    control.optionValues = options.map((o) => o.value);
  } else if (widget === 'checkbox') {
    const input = h('input', { type: 'checkbox', id, name });
    const error = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
    const element = h('div', { class: 'field field-checkbox', 'data-field': name }, error,
      h('div', { class: 'choice' }, input, h('label', { for: id }, label)), hint ? h('p', { class: 'hint' }, hint) : null);
    control = { element, input, name, setError: (message) => {
      error.hidden = !message;
      error.textContent = message || '';
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    } };
  } else {
    const attrs = {};
    if (schema.maxLength) attrs.maxlength = String(schema.maxLength);
    if (widget === 'date') Object.assign(attrs, dateBounds(schema));
    if (schema.minimum !== undefined) attrs.min = String(schema.minimum);
    if (schema.maximum !== undefined) attrs.max = String(schema.maximum);
    if (widget === 'number') {
      attrs.inputmode = schema.type === 'integer' ? 'numeric' : 'decimal';
      attrs.step = schema.type === 'integer' ? '1' : 'any';
    }
    if (widget === 'tel') attrs.autocomplete = 'tel';
    if (widget === 'email') attrs.autocomplete = 'email';
    const type = { textarea: 'textarea', date: 'date', datetime: 'datetime-local', number: 'number', email: 'email', tel: 'tel' }[widget] || 'text';
    control = field({ ...common, type, lang: type === 'date' ? currentLocale() : null, ...attrs });
  }
  return { control, widget, schema, label };
}

/**
 * schemaForm(version, data, onEdit): {element, fields (pointer → control), values(), set(data)}.
 * `onEdit(name, value)` is called as the person types.
 */
export function schemaForm(version, data, onEdit) {
  const required = new Set(version.form_schema?.required || []);
  const built = {};
  for (const name of fieldOrder(version)) {
    built[name] = build(version, name, required.has(name));
    const { control, widget, schema } = built[name];
    const report = () => onEdit(name, readValue(control, schema, widget));
    const inputs = control.inputs || [control.input];
    inputs.forEach((input) => {
      input.addEventListener(widget === 'checkbox' || widget === 'radio' || widget === 'select' ? 'change' : 'input', report);
    });
  }
  const form = {
    element: h('div', { class: 'stack schema-form' }, Object.values(built).map((b) => b.control.element)),
    fields: Object.fromEntries(Object.entries(built).map(([name, b]) => [`/data/${name}`, b.control])),
    labels: Object.fromEntries(Object.entries(built).map(([name, b]) => [`/data/${name}`, b.label])),
    set(values) {
      for (const [name, b] of Object.entries(built)) writeValue(b.control, b.widget, values?.[name]);
    },
    /** What the fields hold now, as the form's data (empty fields left out). */
    values() {
      const out = {};
      for (const [name, b] of Object.entries(built)) {
        const value = readValue(b.control, b.schema, b.widget);
        if (value !== null && !(b.widget === 'checkbox' && value === false && !(name in (data || {})))) out[name] = value;
      }
      return out;
    },
  };
  form.set(data);
  return form;
}

// the catalogue's keyword bounding a date relative to the day of submission (docs/catalogue.md)
const DATE_KEYWORD = 'x-motcua-date';
const DAY = 86400000;

/** Today in Vietnam (the day submission judges dates by), as YYYY-MM-DD, whatever the device's time zone. */
export function vietnamToday(now = new Date()) {
  return new Date(now.getTime() + 7 * 3600000).toISOString().slice(0, 10); // UTC+7 all year, no daylight saving
}

function boundDay(bound, today) {
  if (bound === 'today') return today;
  if (!Number.isInteger(bound)) return null;
  return new Date(Date.parse(`${today}T00:00:00Z`) + bound * DAY).toISOString().slice(0, 10);
}

/** The earliest and latest day a date field takes (`min`, `max` of its input), from `x-motcua-date`. */
export function dateBounds(schema, today = vietnamToday()) {
  const bounds = schema?.[DATE_KEYWORD];
  if (!bounds || typeof bounds !== 'object') return {};
  const out = {};
  const min = boundDay(bounds.not_before, today);
  const max = boundDay(bounds.not_after, today);
  if (min) out.min = min;
  if (max) out.max = max;
  return out;
}

function inSentence(label) {
  // "Giới tính" → "giới tính" inside a sentence, but an acronym ("CCCD", "URL") keeps its capitals
  return label.length > 1 && label[1] === label[1].toLowerCase() ? label[0].toLowerCase() + label.slice(1) : label;
}

function isChoice(schema, hints) {
  return ['select', 'radio'].includes(widgetOf(schema, hints));
}

/**
 * Checks made before asking the server: required fields ("Hãy nhập …", or "Hãy chọn …" for a choice),
 * the schema's simple bounds, dates and the days `x-motcua-date` allows. Each message names its field.
 */
export function localProblems(version, data, today = vietnamToday()) {
  const said = {};
  const required = version.form_schema?.required || [];
  for (const name of fieldOrder(version)) {
    const schema = version.form_schema.properties[name];
    const value = data?.[name];
    const empty = value === undefined || value === null || value === '';
    const label = labelOf(version, name);
    const missing = () => t(isChoice(schema, hintsOf(version, name)) ? 'problem.choose_field' : 'problem.enter_field',
      { label: inSentence(label) });
    if (empty) {
      if (required.includes(name)) said[`/data/${name}`] = missing();
      continue;
    }
    const { min, max } = schema.format === 'date' ? dateBounds(schema, today) : {};
    if (typeof value === 'string' && schema.minLength && [...value].length < schema.minLength) {
      said[`/data/${name}`] = missing();
    } else if (schema.format === 'date' && (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)
      || Number.isNaN(Date.parse(`${value}T00:00:00Z`)))) {
      said[`/data/${name}`] = t('problem.date_of', { label });
    } else if (max && value > max) {
      said[`/data/${name}`] = t(max === today ? 'problem.date_not_after_today' : 'problem.date_not_after', { label, date: formatDate(max) });
    } else if (min && value < min) {
      said[`/data/${name}`] = t(min === today ? 'problem.date_not_before_today' : 'problem.date_not_before', { label, date: formatDate(min) });
    } else if (typeof value === 'string' && schema.pattern && !matches(schema.pattern, value)) {
      said[`/data/${name}`] = t('problem.pattern');
    } else if ((schema.type === 'integer' || schema.type === 'number') && typeof value !== 'number') {
      said[`/data/${name}`] = t('problem.number');
    } else if (typeof value === 'number' && ((schema.minimum !== undefined && value < schema.minimum)
      || (schema.maximum !== undefined && value > schema.maximum))) {
      said[`/data/${name}`] = t('problem.range');
    }
  }
  return said;
}

function matches(pattern, value) {
  try {
    return new RegExp(pattern, 'u').test(value);
  } catch {
    return true; // a pattern this browser cannot read is left to the server
  }
}
