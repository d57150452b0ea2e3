// What a procedure's page tells beyond its form, as dichvucong.gov.vn does: the steps, the result and how and
// where it is received, the form templates, each fee and when it applies, the legal texts with links
// (the catalogue's guidance fields, docs/catalogue.md). Each block is left out when the procedure has none.
import { facts } from './blocks.js';
import { h } from './dom.js';
import { currentLocale, formatMoney, pick, t } from './i18n.js';

// Vietnamese text shown in English mode (an English part missing) keeps its language for screen readers
const vi = (item, field) => (currentLocale() === 'en' && !item[`${field}_en`] ? 'vi' : null);

function text(item, field) {
  return h('span', { lang: vi(item, field) }, pick(item, field));
}

export function stepsOf(proc) {
  if (!proc.steps?.length) return null;
  return [h('h2', { id: 'procedure-steps' }, t('procedure.steps')),
    h('ol', { class: 'steps', 'aria-labelledby': 'procedure-steps' }, proc.steps.map((s) => h('li', {}, text(s, 'text'))))];
}

/** What the applicant receives, how and where: on the procedure's page and on a completed dossier's. */
export function deliveryFacts(delivery) {
  return facts([
    [t('procedure.result_document'), text(delivery, 'document')],
    [t('procedure.result_methods'), h('ul', { class: 'plain' }, delivery.methods.map((m) => h('li', {}, t(`procedure.method_${m}`))))],
    [t('procedure.result_place'), delivery.place ? text(delivery, 'place') : null],
    [t('procedure.result_how'), delivery.instructions ? text(delivery, 'instructions') : null],
  ], 'delivery');
}

export function resultDeliveryOf(proc) {
  if (!proc.result_delivery) return null;
  return [h('h2', {}, t('procedure.result')), h('div', { id: 'procedure-result' }, deliveryFacts(proc.result_delivery))];
}

export function templatesOf(proc) {
  if (!proc.steps?.length && !proc.form_templates?.length) return null; // a procedure without guidance says nothing
  return [h('h2', {}, t('procedure.templates')),
    proc.form_templates?.length ? h('ul', { id: 'procedure-templates' }, proc.form_templates.map((f) => h('li', {},
      text(f, 'name'), f.code ? [' — ', h('span', { lang: 'vi' }, f.code)] : null,
      f.url ? [' ', h('a', { href: f.url, rel: 'noopener noreferrer', download: '' }, t('procedure.template_download'))] : null)))
      : h('p', { id: 'procedure-templates' }, t('procedure.no_templates'))];
}

export function feesOf(proc) {
  if (!proc.fee_details?.length) return null;
  return [h('h2', {}, t('procedure.fee_details')),
    h('ul', { class: 'fee-details', id: 'procedure-fees' }, proc.fee_details.map((f) => h('li', {},
      h('strong', {}, text(f, 'name')), ': ',
      f.amount_vnd === null || f.amount_vnd === undefined ? t('procedure.fee_by_province') : formatMoney(f.amount_vnd),
      f.condition ? [h('br'), h('span', { class: 'hint' }, text(f, 'condition'))] : null)))];
}

export function legalTextsOf(proc) {
  if (proc.legal_texts?.length) {
    // in English the text's English name, then its official Vietnamese title (marked as Vietnamese)
    const english = (l) => currentLocale() === 'en' && l.title_en;
    return [h('h2', {}, t('procedure.legal_basis')), h('ul', { id: 'procedure-legal' }, proc.legal_texts.map((l) => h('li', {},
      l.url ? h('a', { href: l.url, rel: 'noopener noreferrer', lang: vi(l, 'title') }, pick(l, 'title')) : text(l, 'title'),
      english(l) ? [h('br'), h('span', { class: 'hint', lang: 'vi' }, l.title)] : null)))];
  }
  if (!proc.legal_basis?.length) return null;
  return [h('h2', {}, t('procedure.legal_basis')), h('ul', {}, proc.legal_basis.map((l) => h('li', { lang: 'vi' }, l)))];
}
