// The services explain a refusal in English (problem details); a citizen reading Vietnamese gets
// a plain Vietnamese sentence for every rule we know, and the service's words only as a last resort.
import { currentLocale, formatDate, t } from './i18n.js';

// [pattern of the service's message, key of our sentence]
const KNOWN = [
  [/^(field )?required|is required|required document missing/i, 'problem.required'],
  [/at least (\d+) characters?/i, 'problem.min_length'],
  [/at most (\d+) characters?|longer than|too long/i, 'problem.max_length'],
  [/built from your own/i, 'problem.password_personal'],
  [/easy to guess|too (common|weak)|guess/i, 'problem.password_weak'],
  [/only spaces|must not be empty|empty/i, 'problem.empty'],
  [/vietnamese mobile|phone number|receive sms/i, 'problem.phone'],
  [/email|@/i, 'problem.email'],
  [/12 digits|citizen id/i, 'problem.national_id'],
  [/10 digits, or 13/i, 'problem.tax_code'],
  [/only for (individual|businesses)/i, 'problem.not_for_type'],
  [/link is not valid|link has expired/i, 'problem.link_invalid'],
  [/code has expired/i, 'problem.code_expired'],
  [/6 digits|not the code|not the current code/i, 'problem.code_wrong'],
  [/must not be after (\d{4}-\d{2}-\d{2})/i, 'problem.date_after'],
  [/must not be before (\d{4}-\d{2}-\d{2})/i, 'problem.date_before'],
  [/not a valid date|date/i, 'problem.date'],
  [/not a field of this form/i, 'problem.unknown_field'],
  [/is not one of|enum/i, 'problem.choice'],
  [/pattern|does not match/i, 'problem.pattern'],
  [/minimum|greater than|less than|maximum/i, 'problem.range'],
  [/valid integer|number|integer/i, 'problem.number'],
];

/** A sentence for the reader about one refused field. */
export function explain(pointer, message) {
  const text = String(message || '');
  for (const [pattern, key] of KNOWN) {
    const found = pattern.exec(text);
    if (found) {
      if (currentLocale() === 'en' && key !== 'problem.required') return capitalise(text);
      const n = key.startsWith('problem.date_') ? formatDate(found[1]) : found[1] || '';
      return t(key, { n });
    }
  }
  if (currentLocale() === 'en') return capitalise(text || t('problem.invalid'));
  return text ? t('problem.invalid_with', { detail: text }) : t('problem.invalid');
}

function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}
