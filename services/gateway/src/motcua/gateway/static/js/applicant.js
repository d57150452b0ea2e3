// The applicant section of a dossier (the tờ khai's "người nộp hồ sơ"): the same rows for the agency's officer,
// who reads what was filed at submission, and for the citizen on the review page, who reads their account.
import { facts } from './blocks.js';
import { h } from './dom.js';
import { formatPhone, t } from './i18n.js';

/** The rows of an applicant ({account_type, full_name, national_id, tax_code, organisation_name, email, phone}). */
export function applicantRows(applicant, change = null) {
  const value = (text, name) => (text ? [h('span', { 'data-applicant': name }, text), change ? [' ', change(name)] : null] : null);
  return [
    [t('applicant.full_name'), value(applicant.full_name, 'full_name')],
    [t('officer.applicant_type'), applicant.account_type ? t(`account_type.${applicant.account_type}`) : null],
    [t('register.organisation_name'), value(applicant.organisation_name, 'organisation_name')],
    [t('register.national_id'), value(applicant.national_id, 'national_id')],
    [t('register.tax_code'), value(applicant.tax_code, 'tax_code')],
    [t('applicant.phone'), value(formatPhone(applicant.phone), 'phone')],
    [t('register.email'), value(applicant.email, 'email')],
  ];
}

/** The section, headed; `note` says where the details come from. */
export function applicantSection(applicant, { id, note, change } = {}) {
  return h('section', { id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, t('applicant.title')),
    note ? h('p', { class: 'hint' }, note) : null,
    applicant ? facts(applicantRows(applicant, change)) : h('p', {}, t('applicant.unknown')));
}
