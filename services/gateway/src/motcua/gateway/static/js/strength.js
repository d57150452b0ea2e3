// Live feedback on a new password while it is typed. Identity decides (zxcvbn on the server);
// this is a small estimate in the same spirit (length first, no composition rules) so that the
// person learns before sending, without shipping an 800 kB dictionary to every phone.
import { h } from './dom.js';
import { t } from './i18n.js';

const COMMON = ['password', 'matkhau', '123456', '12345678', 'qwerty', 'abc123', 'motcua', 'dichvucong', 'vietnam',
  'hanoi', 'saigon', 'iloveyou', 'admin', '111111', '000000', 'abcdef'];

function plain(text) {
  return text.toLowerCase().replace(/đ/g, 'd').normalize('NFD').replace(/[\u0300-\u036f]/g, '');
}

/** 0 (refused) … 4 (very strong), and the reason for the lowest scores. */
export function estimate(password, personal = []) {
  const length = [...password].length;
  if (length < 8) return { score: 0, reason: 'strength.too_short' };
  const flat = plain(password).replace(/[^a-z0-9]/g, '');
  for (const word of personal.map(plain).flatMap((w) => w.split(/[\s@.]+/)).filter((w) => w.length >= 4)) {
    if (flat.includes(word) && word.length >= flat.length / 2) return { score: 0, reason: 'strength.personal' };
  }
  if (COMMON.some((w) => flat.includes(w) && w.length >= flat.length / 2)) return { score: 1, reason: 'strength.common' };
  if (/^(.)\1+$/.test(password) || /^(0123456789|abcdefgh)/.test(flat)) return { score: 1, reason: 'strength.common' };
  const kinds = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((r) => r.test(password)).length;
  const words = password.trim().split(/\s+/).length;
  let score = 1;
  if (length >= 10 && kinds >= 2) score = 2;
  if (length >= 12 && (kinds >= 3 || words >= 3)) score = 3;
  if (length >= 15 && (kinds >= 2 || words >= 4)) score = 3;
  if (length >= 20 || (length >= 15 && kinds >= 3)) score = 4;
  return { score, reason: score < 3 ? 'strength.longer' : null };
}

/** A meter under a password input, announced politely as it changes. */
export function strengthMeter(input, personal = () => []) {
  const meter = h('meter', { min: '0', max: '4', low: '2', high: '3', optimum: '4', value: '0', 'aria-hidden': 'true' });
  const words = h('p', { class: 'strength-text', 'aria-live': 'polite', id: `${input.id}-strength` });
  const element = h('div', { class: 'strength' }, meter, words);
  const update = () => {
    if (!input.value) {
      meter.value = 0;
      words.textContent = '';
      element.dataset.score = '';
      return;
    }
    const { score, reason } = estimate(input.value, personal());
    meter.value = score;
    element.dataset.score = String(score);
    words.textContent = `${t('strength.label')}: ${t(`strength.${score}`)}${reason ? ` — ${t(reason)}` : ''}`;
  };
  input.addEventListener('input', update);
  const described = input.getAttribute('aria-describedby');
  input.setAttribute('aria-describedby', [described, words.id].filter(Boolean).join(' '));
  return element;
}
